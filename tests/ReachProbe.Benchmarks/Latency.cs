using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using ReachProbe.Testing;

namespace ReachProbe.Benchmarks;

/// <summary>
/// Detection latency of the live agent in the lab, per view: fault injected → new state on /metrics, for deaf, down
/// and recovery, at a 1 s probe interval — inline (the probe host's bridge: full view), then from a plain switch port
/// (switched view), where a deaf console is unresponsive until its next broadcast; then the agent's CPU and memory
/// while it monitors one target for a minute.
/// </summary>
internal static partial class Latency
{
    private const int Port = 9942;

    public static int Run(int injections, TimeSpan steady, TimeSpan broadcastEvery, IReadOnlyCollection<string> views)
    {
        if (views.Contains("full")) Full(injections, steady);
        if (views.Contains("switched")) Switched(injections, broadcastEvery);
        if (views.Contains("dual-stack")) DualStack(injections);
        if (views.Contains("device")) Device(injections);
        return 0;
    }

    /// <summary>
    /// Inline, the same dual-stack console watched as one device, by its MAC alone: both its addresses learned from its
    /// frames, one state over them — up while either family answers, so deaf only once neither does.
    /// </summary>
    private static void Device(int injections)
    {
        using var lab = LabNetwork.Create(ipv6: LabIPv6.DualStack);
        lab.ReachprobeDll = Path.Combine(AppContext.BaseDirectory, "reachprobe.dll");
        lab.StartChatter();
        lab.StartAgent(["--target", LabNetwork.ConsoleMac, "--interval", "1", "--listen", $"{LabNetwork.ProbeIp}:{Port}"]);
        Wait(lab, "up", TimeSpan.FromSeconds(30));
        var settle = Stopwatch.StartNew();
        while (settle.Elapsed < TimeSpan.FromSeconds(60) && (lab.HttpGet(LabNetwork.ProbeIp, Port, "/metrics") ?? "") is var m
            && !(m.Contains("reachprobe_capture_view{interface=\"br0\",view=\"full\"} 1", StringComparison.Ordinal) && m.Contains("probe=\"icmp6\"} 1", StringComparison.Ordinal)))
            Thread.Sleep(200);
        var (deaf, down, recovery) = Injections(lab, "device", injections, lab.Heal);
        Console.WriteLine($"Full view (inline bridge), the dual-stack console as one device by its MAC (both families), {injections} injections:");
        Header();
        Row("deaf (device)", deaf);
        Row("down (device)", down);
        Row("recovery (device)", recovery);
    }

    /// <summary>
    /// Inline, one dual-stack console watched at its IPv4 address (icmp, arp) and its IPv6 one (icmp, ndp): each fault
    /// is injected once and both targets are timed from it, so the two families are compared on the same injections.
    /// </summary>
    private static void DualStack(int injections)
    {
        using var lab = LabNetwork.Create(ipv6: LabIPv6.DualStack);
        lab.ReachprobeDll = Path.Combine(AppContext.BaseDirectory, "reachprobe.dll");
        lab.StartChatter();
        lab.StartAgent(["--target", LabNetwork.ConsoleIp, "--target", LabNetwork.ConsoleIp6, "--interval", "1", "--listen", $"{LabNetwork.ProbeIp}:{Port}"]);
        WaitBoth(lab, "up", TimeSpan.FromSeconds(30), Stopwatch.StartNew());
        // Faults go to an agent that has settled, as a user's has: inline, once it sees the full view.
        var settle = Stopwatch.StartNew();
        while (settle.Elapsed < TimeSpan.FromSeconds(60)
            && !(lab.HttpGet(LabNetwork.ProbeIp, Port, "/metrics") ?? "").Contains("reachprobe_capture_view{interface=\"br0\",view=\"full\"} 1", StringComparison.Ordinal))
            Thread.Sleep(200);
        var results = new Dictionary<string, List<double>>();
        void Add(string row, (double V4, double V6) t)
        {
            (results.TryGetValue(row + " ipv4", out var a) ? a : results[row + " ipv4"] = []).Add(t.V4);
            (results.TryGetValue(row + " ipv6", out var b) ? b : results[row + " ipv6"] = []).Add(t.V6);
        }
        for (var i = 0; i < injections; i++)
        {
            Console.Error.Write($"\r  dual stack: injection {i + 1}/{injections}   ");
            Thread.Sleep(2000 + Random.Shared.Next(1000));
            Add("deaf", TimeBoth(lab, lab.MakeDeaf, "deaf"));
            Thread.Sleep(1000);
            Add("recovery", TimeBoth(lab, lab.Heal, "up"));
            Thread.Sleep(2000 + Random.Shared.Next(1000));
            Add("down", TimeBoth(lab, lab.LinkDown, "down"));
            Thread.Sleep(1000);
            Add("recovery", TimeBoth(lab, lab.LinkUp, "up"));
        }
        Console.Error.WriteLine();
        Console.WriteLine($"Full view (inline bridge), one dual-stack console at its IPv4 and its IPv6 address, the same {injections} injections:");
        Header();
        foreach (var row in new[] { "deaf", "down", "recovery" })
            foreach (var family in new[] { "ipv4", "ipv6" })
                Row($"{row} {family}", results[$"{row} {family}"]);
    }

    private static (double V4, double V6) TimeBoth(LabNetwork lab, Action inject, string want)
    {
        var watch = Stopwatch.StartNew();
        inject();
        return WaitBoth(lab, want, TimeSpan.FromSeconds(60), watch);
    }

    private static (double V4, double V6) WaitBoth(LabNetwork lab, string want, TimeSpan limit, Stopwatch watch)
    {
        double? v4 = null, v6 = null;
        while (watch.Elapsed < limit && (v4 is null || v6 is null))
        {
            var m = lab.HttpGet(LabNetwork.ProbeIp, Port, "/metrics") ?? "";
            if (v4 is null && m.Contains($"reachprobe_target_state{{target=\"{LabNetwork.ConsoleIp}\",state=\"{want}\"}} 1", StringComparison.Ordinal)) v4 = watch.Elapsed.TotalSeconds;
            if (v6 is null && m.Contains($"reachprobe_target_state{{target=\"{LabNetwork.ConsoleIp6}\",state=\"{want}\"}} 1", StringComparison.Ordinal)) v6 = watch.Elapsed.TotalSeconds;
            Thread.Sleep(50);
        }
        if (v4 is null || v6 is null)
        {
            // What the agent said and showed, for whoever reads the failure.
            lock (lab.AgentLog) Console.Error.WriteLine($"\nagent log:\n{lab.AgentLog}");
            Console.Error.WriteLine(string.Join('\n', (lab.HttpGet(LabNetwork.ProbeIp, Port, "/metrics") ?? "").Split('\n')
                .Where(l => l.StartsWith("reachprobe_target_state{", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal) || l.StartsWith("reachprobe_probe_success", StringComparison.Ordinal))));
            throw new TimeoutException($"not both {want} within {limit} (ipv4 {v4?.ToString() ?? "no"}, ipv6 {v6?.ToString() ?? "no"})");
        }
        return (v4.Value, v6.Value);
    }

    private static void Full(int injections, TimeSpan steady)
    {
        using var lab = LabNetwork.Create();
        lab.ReachprobeDll = Path.Combine(AppContext.BaseDirectory, "reachprobe.dll");
        lab.StartChatter();
        var agent = lab.StartAgent(["--target", LabNetwork.ConsoleIp, "--interval", "1", "--listen", $"{LabNetwork.ProbeIp}:{Port}"]);
        Wait(lab, "up", TimeSpan.FromSeconds(30));
        var (deaf, down, recovery) = Injections(lab, "full view", injections, () => { lab.Heal(); lab.GratuitousArp(); });
        Console.WriteLine($"Detection latency, fault → state on /metrics, 1 s probe interval, {injections} injections each:");
        Console.WriteLine($"Full view (inline bridge):");
        Header();
        Row("deaf", deaf);
        Row("down", down);
        Row("recovery", recovery);

        // CPU and memory while monitoring one healthy target.
        var cpu0 = CpuSeconds(agent.Id);
        var watch = Stopwatch.StartNew();
        Thread.Sleep(steady);
        var cpu = CpuSeconds(agent.Id) - cpu0;
        var (rss, hwm) = Memory(agent.Id);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Agent monitoring one target for {watch.Elapsed.TotalSeconds:0} s: CPU {100 * cpu / watch.Elapsed.TotalSeconds:0.00} % of one core, RSS {rss / 1048576.0:0} MB (peak {hwm / 1048576.0:0} MB)"));
    }

    private static void Switched(int injections, TimeSpan broadcastEvery)
    {
        using var lab = LabNetwork.Create(topology: LabTopology.Switch);
        lab.ReachprobeDll = Path.Combine(AppContext.BaseDirectory, "reachprobe.dll");
        lab.StartChatter();
        lab.StartBroadcasts(broadcastEvery);
        lab.StartAgent(["--target", LabNetwork.ConsoleIp, "--target", LabNetwork.RouterIp, "--interval", "1", "--listen", $"{LabNetwork.ProbeIp}:{Port}"]);
        Wait(lab, "up", TimeSpan.FromSeconds(30));
        Thread.Sleep(broadcastEvery * 5); // its cadence is learned while it answers
        var deaf = new List<double>();
        var afterBroadcast = new List<double>();
        var unresponsiveFirst = new List<double>();
        var down = new List<double>();
        var recovery = new List<double>();
        var falseDown = 0;
        var hold = broadcastEvery * 3 + TimeSpan.FromSeconds(5);
        for (var i = 0; i < injections; i++)
        {
            Console.Error.Write($"\r  switched view: injection {i + 1}/{injections}   ");
            Thread.Sleep(2000 + Random.Shared.Next(1000));
            var start = Stopwatch.GetTimestamp();
            var t = Time(lab, lab.MakeDeaf, "deaf", broadcastEvery * 4 + TimeSpan.FromSeconds(30));
            deaf.Add(t.Seconds);
            unresponsiveFirst.Add(t.Path.FirstOrDefault(p => p.State == "unresponsive") is { State: not null } u ? t.Seconds - u.At : 0);
            if (lab.BroadcastAfter(start) is { } first) afterBroadcast.Add(t.Seconds - Stopwatch.GetElapsedTime(start, first).TotalSeconds);
            // It keeps broadcasting within its cadence: it must stay deaf, never down.
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < hold)
            {
                if (StateOf(lab) == "down") { falseDown++; break; }
                Thread.Sleep(100);
            }
            recovery.Add(Time(lab, lab.Heal, "up").Seconds);
            Thread.Sleep(2000 + Random.Shared.Next(1000));
            down.Add(Time(lab, lab.LinkDown, "down", TimeSpan.FromMinutes(6)).Seconds);
            recovery.Add(Time(lab, lab.LinkUp, "up").Seconds);
        }
        Console.Error.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Switched view (plain switch port; the console broadcasts every {broadcastEvery.TotalSeconds:0.#} s):"));
        Header();
        Row("deaf", deaf);
        Row("  after its first broadcast", afterBroadcast);
        Row("  of which unresponsive", unresponsiveFirst);
        Row("down", down);
        Row("recovery", recovery);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"False down for the deaf console (watched {hold.TotalSeconds:0} s after each deaf): {falseDown} of {injections}"));
    }

    /// <summary>
    /// <paramref name="injections"/> rounds of deaf, healed (<paramref name="heal"/>), link down and link up, each timed
    /// from its injection to the state on /metrics, a random settle before each fault so it lands anywhere in the probe cycle.
    /// </summary>
    private static (List<double> Deaf, List<double> Down, List<double> Recovery) Injections(LabNetwork lab, string what, int injections, Action heal)
    {
        List<double> deaf = [], down = [], recovery = [];
        for (var i = 0; i < injections; i++)
        {
            Console.Error.Write($"\r  {what}: injection {i + 1}/{injections}   ");
            Thread.Sleep(2000 + Random.Shared.Next(1000)); // settle, and land at a random point of the probe cycle
            deaf.Add(Time(lab, lab.MakeDeaf, "deaf").Seconds);
            Thread.Sleep(1000);
            recovery.Add(Time(lab, heal, "up").Seconds);
            Thread.Sleep(2000 + Random.Shared.Next(1000));
            down.Add(Time(lab, lab.LinkDown, "down").Seconds);
            Thread.Sleep(1000);
            recovery.Add(Time(lab, lab.LinkUp, "up").Seconds);
        }
        Console.Error.WriteLine();
        return (deaf, down, recovery);
    }

    private static void Header() => Console.WriteLine($"{"",-28} {"p50",8} {"p95",8} {"max",8}");

    private static void Row(string name, List<double> xs)
    {
        if (xs.Count == 0) { Console.WriteLine($"{name,-28} {"-",8} {"-",8} {"-",8}"); return; }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-28} {Pct(xs, 0.5),7:0.00}s {Pct(xs, 0.95),7:0.00}s {xs.Max(),7:0.00}s"));
    }

    private static (double Seconds, List<(string? State, double At)> Path) Time(LabNetwork lab, Action inject, string want, TimeSpan? limit = null)
    {
        var watch = Stopwatch.StartNew();
        inject();
        var path = Wait(lab, want, limit ?? TimeSpan.FromSeconds(60), watch);
        return (watch.Elapsed.TotalSeconds, path);
    }

    private static string? StateOf(LabNetwork lab)
    {
        var m = lab.HttpGet(LabNetwork.ProbeIp, Port, "/metrics");
        return m is not null && State().Match(m) is { Success: true } s ? s.Groups[1].Value : null;
    }

    private static List<(string? State, double At)> Wait(LabNetwork lab, string want, TimeSpan limit, Stopwatch? since = null)
    {
        var watch = since ?? Stopwatch.StartNew();
        var path = new List<(string? State, double At)>();
        while (watch.Elapsed < limit)
        {
            var s = StateOf(lab);
            if (path.Count == 0 || path[^1].State != s) path.Add((s, watch.Elapsed.TotalSeconds));
            if (s == want) return path;
            Thread.Sleep(50);
        }
        throw new TimeoutException($"state not {want} within {limit}; seen {string.Join(" → ", path.Select(p => p.State))}");
    }

    private static double Pct(List<double> xs, double p)
    {
        var sorted = xs.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    private static double CpuSeconds(int pid)
    {
        var f = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // Fields after the command: state is [0], utime [11], stime [12], in clock ticks (100 Hz on Linux).
        return (long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private static (long Rss, long Hwm) Memory(int pid)
    {
        long rss = 0, hwm = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        return (rss, hwm);
    }

    [GeneratedRegex("""^reachprobe_target_state\{target="[^"]+",state="(\w+)"\} 1$""", RegexOptions.Multiline)]
    private static partial Regex State();
}
