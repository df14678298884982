using System.Diagnostics;
using System.Globalization;
using ReachProbe.Analysis;
using ReachProbe.Benchmarks;
using ReachProbe.Testing;
using ReachProbe.Wire;

// ReachProbe's benchmarks print figures; they assert nothing. See README "Benchmarks".
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
return args switch
{
    ["generate", var name, var path] => Generate(name, path),
    ["measure", var mode, var path] => Measure(mode, path),
    ["analyze", .. var rest] => AnalyzeBenchmark(rest),
    ["history"] => HistoryBenchmark.Run(),
    ["fleet", .. var rest] => FleetArgs(rest),
    ["discover"] => DiscoverBenchmark.Run(100_000),
    ["scale", .. var rest] => ScaleArgs(rest),
    ["latency", .. var rest] => LatencyArgs(rest),
    ["memory"] => MemoryBenchmark.Run([100, 1000, 4096]),
    ["footprint", "--targets", var list, .. var builds] => FootprintBenchmark.Run(Builds(builds), list.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToList()),
    ["footprint", .. var builds] => FootprintBenchmark.Run(Builds(builds), [1, 100]),
    ["memory", "--targets", var list] => MemoryBenchmark.Run(list.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToList()),
    _ => Usage(),
};

// The builds the footprint benchmark compares: the framework-dependent one beside it, unless NAME=PROGRAM pairs are given.
static List<(string, string)> Builds(string[] given) => given.Length == 0
    ? [("framework-dependent", Path.Combine(AppContext.BaseDirectory, "reachprobe.dll"))]
    : given.Select(b => b.Split('=', 2)).Select(b => (b[0], b[1])).ToList();

static int FleetArgs(string[] rest)
{
    var writeSeconds = 10;
    string? program = null;
    for (var i = 0; i + 1 < rest.Length; i += 2)
    {
        switch (rest[i])
        {
            case "--write-seconds" when int.TryParse(rest[i + 1], CultureInfo.InvariantCulture, out var s) && s > 0: writeSeconds = s; break;
            case "--program" when File.Exists(rest[i + 1]): program = Path.GetFullPath(rest[i + 1]); break;
            default: return Usage();
        }
    }
    return rest.Length % 2 == 0 ? FleetHistoryBenchmark.Run(agents: 100, consoles: 10, writeSeconds, program) : Usage();
}

static int ScaleArgs(string[] rest)
{
    List<int> targets = [100, 1000];
    var seconds = 60;
    string[] placements = ["port", "bridge"];
    if (rest.Length % 2 != 0) return Usage();
    for (var i = 0; i + 1 < rest.Length; i += 2)
    {
        switch (rest[i])
        {
            case "--targets": targets = rest[i + 1].Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToList(); break;
            case "--seconds" when int.TryParse(rest[i + 1], CultureInfo.InvariantCulture, out var sec) && sec > 0: seconds = sec; break;
            case "--placement" when rest[i + 1] is "port" or "bridge": placements = [rest[i + 1]]; break;
            case "--placement" when rest[i + 1] is "both": placements = ["port", "bridge"]; break;
            default: return Usage();
        }
    }
    return ScaleBenchmark.Run(targets, seconds, placements);
}

static int LatencyArgs(string[] rest)
{
    var injections = 10;
    var broadcast = 2.0;
    string[] views = ["full", "switched", "dual-stack"];
    for (var i = 0; i + 1 < rest.Length; i += 2)
    {
        switch (rest[i])
        {
            case "--injections" when int.TryParse(rest[i + 1], CultureInfo.InvariantCulture, out var n) && n > 0: injections = n; break;
            case "--views" when rest[i + 1].Split(',') is var v && v.All(x => x is "full" or "switched" or "dual-stack" or "device"): views = v; break;
            case "--broadcast" when double.TryParse(rest[i + 1], CultureInfo.InvariantCulture, out var b) && b >= 0.5 && b <= 120: broadcast = b; break;
            default: return Usage();
        }
    }
    if (rest.Length % 2 != 0) return Usage();
    return Latency.Run(injections, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(broadcast), views);
}

static int Usage()
{
    Console.Error.WriteLine("""
        usage:
          ReachProbe.Benchmarks analyze [--packets N[,N…]] [--tshark-packets N] [--dir DIR] [--keep] [--no-tshark]
              generate captures of N packets (default 1000000,2000000,4000000; ~90 % background) and print, side by
              side, ReachProbe's analysis (discovering targets, and with --target the console), a plain .NET read loop,
              libpcap's and ReachProbe's read loops, tcpdump's filter pass (-r FILE -w /dev/null 'host CONSOLE or arp')
              and tshark's two-pass filter (tshark on the --tshark-packets capture only, default the smallest: it is
              slow and its memory grows)
          ReachProbe.Benchmarks latency [--injections N] [--broadcast SEC] [--views full,switched,dual-stack,device]
              as root: the live agent in a lab of network namespaces, inline (full view) and then on a plain switch
              port (switched view, the console broadcasting every SEC s, default 2); fault → new state on /metrics for
              deaf, down and recovery at a 1 s probe interval (p50, p95 over N injections, default 10), time spent
              unresponsive first, false downs; then its CPU and RSS for a minute; then inline again with a dual-stack
              console watched at its IPv4 and its IPv6 address, both timed from the same injections; with device (not
              run unless named), the same console as one target by its MAC: its one state over both families
          ReachProbe.Benchmarks footprint [--targets 1,100] [NAME=PROGRAM]…
              as root: each build's folder size, start time (--version, median of 5) and the agent's RSS with 1 and
              100 targets (icmp+arp+ddp every 5 s, the unit's environment, after a minute): each PROGRAM given (a
              self-contained build's reachprobe, a .dll, or a script that sets variables and execs one), else the
              framework-dependent build beside this program
          ReachProbe.Benchmarks scale [--targets 100,1000] [--seconds 60] [--placement port|bridge|both]
              as root: the agent with N answering addresses in network namespaces of its own, icmp+arp every 1 s, on a
              plain port (its veth) and inline (a bridge it captures on; default both), then fping -c on the same
              addresses: CPU-s/s, RSS, probes sent and answered, schedule lag p99, /metrics scraped from outside
              during the run (p50/max), faults, SIGTERM
          ReachProbe.Benchmarks memory [--targets 100,1000,4096]
              per-target memory of the pipeline, verdict and metric series in this process: built, after a minute of
              healthy icmp+arp probing, and under a flood that fills every tracker's table to its bound
          ReachProbe.Benchmarks discover
              the device catalog (discover, and the agent's discovery) fed a home LAN's mix of announcements and then
              100,000 forged consoles from unique MACs: frames a second, devices kept, its managed heap
          ReachProbe.Benchmarks history
              a year of history (one target, weekly restarts, 2 incidents a week): database size and 'report --since
              12w' time, for this build's schema and for the first release's, migrated
          ReachProbe.Benchmarks fleet [--write-seconds N] [--program PATH]
              as root: a throwaway PostgreSQL; the history's write throughput (incidents and signs of life a second,
              1 and 10 agents), then a year of 100 agents x 10 consoles and 'report --db' over it, each statement timed;
              the command timed as a process too (PATH: a published reachprobe, e.g. the package's ReadyToRun one)
          ReachProbe.Benchmarks generate field-report|lab-phases|lab-phase3|down-host|healthy-loss FILE
        """);
    return 2;
}

static int Generate(string name, string path)
{
    Scenario s = name switch
    {
        "field-report" => Scenarios.FieldReport(),
        "lab-phases" => Scenarios.LabPhases(),
        "lab-phase3" => Scenarios.LabPhase3Only(),
        "down-host" => Scenarios.DownHost(),
        "healthy-loss" => Scenarios.HealthyWithLoss(),
        _ => throw new ArgumentException($"unknown scenario '{name}'"),
    };
    s.WriteTo(path);
    Console.Error.WriteLine($"wrote {s.Count} packets of the {name} scenario to {path}");
    foreach (var p in s.Planted) Console.Error.WriteLine($"  planted: {p.TargetIp} {p.State} from {p.StartSeconds} s to {(p.EndSeconds is { } e ? $"{e} s" : "the end")}");
    return 0;
}

// Runs in a child process so that its peak RSS is its own.
static int Measure(string mode, string path)
{
    var watch = Stopwatch.StartNew();
    long packets = 0, bytes = new FileInfo(path).Length;
    switch (mode)
    {
        case "reachprobe":
            packets = CaptureAnalyzer.AnalyzeFile(path, new AnalysisOptions()).Counters.Frames;
            break;
        case "reachprobe-target":
            var console = Addresses.ToUInt(Scenarios.GameConsole.Address);
            packets = CaptureAnalyzer.AnalyzeFile(path, new AnalysisOptions { Targets = new Dictionary<UInt128, ulong> { [console] = 0 } }).Counters.Frames;
            break;
        case "read":
            using (var source = CaptureFileSource.Open(path))
                while (source.TryRead(out var frame)) packets += frame.Data.Length > 0 ? 1 : 1;
            break;
        case "libpcap":
            using (var source = CaptureFileSource.Open(path, viaLibpcap: true))
                while (source.TryRead(out var frame)) packets += frame.Data.Length > 0 ? 1 : 1;
            break;
        case "decode":
            using (var source = CaptureFileSource.Open(path))
                while (source.TryRead(out var frame))
                    if (FrameDecoder.TryDecode(source.Link, frame.Data, frame.Time, out var f) && f.Kind != FrameKind.Other) packets++;
                    else packets++;
            break;
        case "plain":
            packets = PlainLoop(path);
            break;
    }
    watch.Stop();
    Console.WriteLine($"{packets} {watch.Elapsed.TotalSeconds:0.000} {PeakRssBytes(Environment.ProcessId)} {bytes}");
    return 0;
}

// The floor: a .NET loop over the pcap records that reads every byte and looks at nothing but the record lengths.
static long PlainLoop(string path)
{
    using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
    var buf = new byte[1 << 20];
    int len = 0, pos = 24;
    long packets = 0;
    len = fs.Read(buf, 0, buf.Length);
    while (true)
    {
        if (len - pos < 16 || len - pos < 16 + BitConverter.ToInt32(buf, pos + 8))
        {
            Array.Copy(buf, pos, buf, 0, len - pos);
            len -= pos;
            pos = 0;
            var n = fs.Read(buf, len, buf.Length - len);
            if (n == 0) break;
            len += n;
            continue;
        }
        pos += 16 + BitConverter.ToInt32(buf, pos + 8);
        packets++;
    }
    return packets;
}

static long PeakRssBytes(int pid)
{
    try
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
    catch (IOException) { }
    return 0;
}

static (long Packets, double Seconds, long PeakRss, long Bytes) RunChild(string fileName, IEnumerable<string> args, bool selfReport)
{
    var psi = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in args) psi.ArgumentList.Add(a);
    var watch = Stopwatch.StartNew();
    using var p = Process.Start(psi)!;
    long peak = 0;
    var stdout = p.StandardOutput.ReadToEndAsync();
    var stderr = p.StandardError.ReadToEndAsync();
    while (!p.WaitForExit(20)) peak = Math.Max(peak, PeakRssBytes(p.Id));
    watch.Stop();
    if (p.ExitCode != 0) throw new InvalidOperationException($"{fileName} exited {p.ExitCode}: {stderr.Result}");
    if (!selfReport) return (-1, watch.Elapsed.TotalSeconds, peak, 0);
    var f = stdout.Result.Trim().Split(' ');
    return (long.Parse(f[0]), double.Parse(f[1]), long.Parse(f[2]), long.Parse(f[3]));
}

static int AnalyzeBenchmark(string[] args)
{
    var sizes = new List<long> { 1_000_000, 2_000_000, 4_000_000 };
    var dir = Path.GetTempPath();
    var keep = false;
    var tshark = true;
    long? tsharkPackets = null;
    for (var i = 0; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--packets": sizes = args[++i].Split(',').Select(long.Parse).ToList(); break;
            case "--dir": dir = args[++i]; break;
            case "--keep": keep = true; break;
            case "--no-tshark": tshark = false; break;
            case "--tshark-packets": tsharkPackets = long.Parse(args[++i]); break;
            default: return Usage();
        }
    }
    // tshark's two-pass analysis is slow and its memory grows with the capture: it runs on one size only.
    var tsharkSize = tsharkPackets ?? sizes.Min();
    if (!sizes.Contains(tsharkSize)) sizes.Insert(0, tsharkSize);
    var self = Environment.ProcessPath!;
    var selfArgs = self.EndsWith("dotnet", StringComparison.Ordinal) ? new[] { typeof(BenchCapture).Assembly.Location } : [];
    var tsharkPath = new[] { "/usr/bin/tshark", "/usr/local/bin/tshark" }.FirstOrDefault(File.Exists);
    if (tshark && tsharkPath is null)
    {
        Console.Error.WriteLine("tshark not found: install it (apt-get install tshark) or pass --no-tshark");
        return 2;
    }
    Console.WriteLine($"ReachProbe analysis benchmark — {Environment.ProcessorCount} cores, .NET {Environment.Version}");
    double? tsharkRate = null;
    Console.WriteLine($"{"capture",-12} {"what",-28} {"packets/s",14} {"MB/s",9} {"seconds",9} {"peak RSS",10}");
    foreach (var size in sizes)
    {
        var path = Path.Combine(dir, $"reachprobe-bench-{size}.pcap");
        Console.Error.WriteLine($"generating {size:N0} packets…");
        BenchCapture.Write(path, size, Console.Error);
        try
        {
            var bytes = new FileInfo(path).Length;
            var rows = new List<(string What, (long Packets, double Seconds, long PeakRss, long Bytes) R)>
            {
                ("plain .NET read loop", RunChild(self, [.. selfArgs, "measure", "plain", path], true)),
                ("libpcap read loop", RunChild(self, [.. selfArgs, "measure", "libpcap", path], true)),
                ("ReachProbe read loop", RunChild(self, [.. selfArgs, "measure", "read", path], true)),
                ("ReachProbe read + decode", RunChild(self, [.. selfArgs, "measure", "decode", path], true)),
                ("ReachProbe analyze", RunChild(self, [.. selfArgs, "measure", "reachprobe", path], true)),
                ("ReachProbe analyze --target", RunChild(self, [.. selfArgs, "measure", "reachprobe-target", path], true)),
            };
            // tcpdump's filter pass over the same file: libpcap's reader and its BPF, the console's frames and ARP kept.
            if (File.Exists("/usr/bin/tcpdump"))
            {
                var t = RunChild("/usr/bin/tcpdump", ["-n", "-r", path, "-w", "/dev/null", $"host {Scenarios.GameConsole.Ip} or arp"], false);
                rows.Add(("tcpdump -r -w /dev/null <bpf>", (size, t.Seconds, t.PeakRss, bytes)));
            }
            if (tshark && size == tsharkSize)
            {
                Console.Error.WriteLine("running tshark -2 (slow)…");
                const string filter = "(icmp.type==8 && !icmp.resp_in) || arp.opcode==1 || arp.isgratuitous || (dns.flags.response==0 && dns.retransmission) || (tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.analysis.retransmission)";
                var t = RunChild(tsharkPath!, ["-n", "-2", "-r", path, "-Y", filter, "-w", "/dev/null"], false);
                rows.Add(("tshark -2 -Y <signatures>", (size, t.Seconds, t.PeakRss, bytes)));
            }
            foreach (var (what, r) in rows)
                Console.WriteLine($"{size,-12:N0} {what,-28} {size / r.Seconds,14:N0} {bytes / 1e6 / r.Seconds,9:N1} {r.Seconds,9:N2} {r.PeakRss / 1048576.0,8:N0} MB");
            var rp = rows.Single(r => r.What == "ReachProbe analyze").R;
            var rpt = rows.Single(r => r.What == "ReachProbe analyze --target").R;
            var plain = rows.Single(r => r.What == "plain .NET read loop").R;
            if (rows.FirstOrDefault(r => r.What.StartsWith("tshark")) is { What: not null } ts) tsharkRate = size / ts.R.Seconds;
            var tcpdump = rows.FirstOrDefault(r => r.What.StartsWith("tcpdump")) is { What: not null } td ? td.R.Seconds : (double?)null;
            Console.WriteLine($"{size,-12:N0} ReachProbe runs at {plain.Seconds / rp.Seconds:0.00}× the plain loop's packets/s"
                + (tcpdump is { } tds ? $", {tds / rp.Seconds:0.00}× tcpdump's ({tds / rpt.Seconds:0.00}× with --target)" : "")
                + (tsharkRate is { } tr ? $" and {size / rp.Seconds / tr:N0}× tshark's" : ""));
        }
        finally
        {
            if (!keep) File.Delete(path);
        }
    }
    return 0;
}
