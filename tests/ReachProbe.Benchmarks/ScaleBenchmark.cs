using System.Diagnostics;
using System.Globalization;
using ReachProbe.Testing;
using System.Text.RegularExpressions;

namespace ReachProbe.Benchmarks;

/// <summary>
/// The live agent at a venue's scale: two network namespaces made for the run (the agent on one end of a veth, N
/// answering addresses in 198.18.16.0/20 on the other), probes icmp + arp every second for a while, then fping on the
/// same addresses for as long. Prints CPU-s/s (from /proc/PID/stat), RSS, probes answered, schedule lag, the scrape's
/// size and time, how long 10 deaf and 10 removed addresses take to be reported (the slowest of each, from its fault),
/// and the time SIGTERM takes. Root only;
/// fping for its row (on a fresh lab of the same size). Asserts nothing.
/// </summary>
internal static partial class ScaleBenchmark
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    public static int Run(IReadOnlyList<int> sizes, int seconds, IReadOnlyList<string> placements)
    {
        if (Environment.UserName != "root")
        {
            Console.Error.WriteLine("scale: needs root (it builds network namespaces)");
            return 2;
        }
        var dll = Path.Combine(AppContext.BaseDirectory, "reachprobe.dll");
        var unit = UnitEnvironment();
        Console.WriteLine($"ReachProbe at scale — icmp+arp every 1 s, {seconds} s per run after all are up and {Settle.TotalSeconds:0} s more, {Environment.ProcessorCount} cores; "
            + $"the agent with config/reachprobe.service's environment ({string.Join(" ", unit.Select(kv => $"{kv.Key}={kv.Value}"))})");
        Console.WriteLine($"{"tool",-18} {"targets",7} {"CPU-s/s",8} {"RSS",8} {"sent/s",8} {"answered",9} {"lag p99",8} {"/metrics (p50/max)",24} {"deaf p50/max removed p50/max",30} {"SIGTERM",8}");
        foreach (var n in sizes) Once(dll, n, seconds, unit, placements);
        return 0;
    }

    /// <summary>The Environment= lines of the systemd unit the agent ships with: the benchmark runs it as installed.</summary>
    internal static Dictionary<string, string> UnitEnvironment()
    {
        var dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "ReachProbe.sln"))) dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("ReachProbe.sln not found above the benchmark");
        return File.ReadLines(Path.Combine(dir, "config", "reachprobe.service"))
            .Where(l => l.StartsWith("Environment=", StringComparison.Ordinal))
            .Select(l => l["Environment=".Length..].Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv[1]);
    }

    private static void Once(string dll, int n, int seconds, IReadOnlyDictionary<string, string> unit, IReadOnlyList<string> placements)
    {
        // One lab at a time: the kernel's neighbour table is shared by every namespace (1,024 entries by default), so
        // fping beside a second lab of 1,000 addresses lost 43 % of its replies to it.
        foreach (var placement in placements) Agent(dll, n, seconds, unit, placement);
        Fping(n, seconds);
    }

    private static void Agent(string dll, int n, int seconds, IReadOnlyDictionary<string, string> unit, string placement)
    {
        using var lab = ScaleLab.Create(n, bridge: placement == "bridge");
        var tool = $"reachprobe@{placement}";
        var log = new System.Text.StringBuilder();
        var (agent, pid) = lab.StartAgent(dll, lab.WriteConfig("icmp", "arp"), log, unit);
        // Warm up until every target is up (or a minute), then measure.
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(60) && !agent.HasExited && Count(lab.Scrape().Text ?? "", UpLine()) < n) Thread.Sleep(1000);
        if (agent.HasExited)
        {
            lock (log) Console.WriteLine($"{tool} {n,7:N0}: the agent exited ({agent.ExitCode}) before the run; its output:{Environment.NewLine}{log}");
            return;
        }
        // Then let the runtime settle: its tiered JIT recompiles the hot paths during the first minute, a one-off
        // that is not what a venue runs at for hours.
        Thread.Sleep(Settle);
        var before = lab.Scrape().Text ?? "";
        var split0 = ScaleLab.CpuSplit(pid);
        var cpu0 = split0.User + split0.System;
        // Scraped from outside (this process, over TCP, as Prometheus would) every 5 s while the agent runs: the time
        // of each full response. A scrape costs the agent CPU too: it is part of what a venue runs.
        var scrapes = new List<double>();
        var window = Stopwatch.StartNew();
        while (window.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            Thread.Sleep(TimeSpan.FromSeconds(Math.Min(5, Math.Max(0, seconds - window.Elapsed.TotalSeconds))));
            if (window.Elapsed >= TimeSpan.FromSeconds(seconds)) break;
            scrapes.Add(lab.Scrape().Seconds);
        }
        var split1 = ScaleLab.CpuSplit(pid);
        var cpu1 = split1.User + split1.System;
        var rss = ScaleLab.RssMb(pid);
        var (afterText, size, time) = lab.Scrape();
        scrapes.Add(time);
        var after = afterText ?? "";
        var sent = Sum(after, "answered|timeout|unreachable") - Sum(before, "answered|timeout|unreachable");
        var answered = Sum(after, "answered") - Sum(before, "answered");
        var p99 = LagP99(before, after);

        // 10 made deaf and 10 removed: how long from each one's fault (its command done) until it is reported (not up).
        // Spread over the list, so over the probe cycle: neighbours in the list sit in neighbouring slots, and ten of
        // them would sample one phase of the cycle, not the spread a fault can land in.
        var step = Math.Max(1, n / 20);
        var faulty = Enumerable.Range(0, 20).Select(k => lab.Targets[k * step % n]).Distinct().ToList();
        if (faulty.Count < 20) faulty = lab.Targets.Take(20).ToList();
        faulty = faulty.Where((_, k) => k % 2 == 0).Concat(faulty.Where((_, k) => k % 2 == 1)).ToList(); // deaf: even, removed: odd
        // /metrics is watched from a thread of its own while the faults go in: removing an address from a namespace of
        // a thousand takes a while, and faults reported meanwhile must be timed when they are, not after the last one.
        var clock = Stopwatch.StartNew();
        var injected = new System.Collections.Concurrent.ConcurrentDictionary<string, double>();
        var reported = new System.Collections.Concurrent.ConcurrentDictionary<string, (double After, string State)>();
        var watcher = new Thread(() =>
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(60) && reported.Count < faulty.Count)
            {
                var states = States(lab.Scrape().Text ?? "");
                var now = clock.Elapsed.TotalSeconds;
                foreach (var t in faulty.Where(t => injected.ContainsKey(t) && !reported.ContainsKey(t) && states.GetValueOrDefault(t) is "deaf" or "down" or "unresponsive"))
                    reported[t] = (now - injected[t], states[t]);
                Thread.Sleep(20);
            }
        });
        watcher.Start();
        lab.Deafen(faulty.Take(10));
        foreach (var t in faulty.Take(10)) injected[t] = clock.Elapsed.TotalSeconds;
        foreach (var t in faulty.Skip(10))
        {
            lab.Remove([t]);
            injected[t] = clock.Elapsed.TotalSeconds;
        }
        watcher.Join();
        string Times(IEnumerable<string> group) => group.All(reported.ContainsKey)
            ? $"{Median(group.Select(t => reported[t].After)):0.00}/{group.Max(t => reported[t].After):0.00}" : "-";
        var faults = $"{Times(faulty.Take(10))} {Times(faulty.Skip(10))} s";
        var seen = string.Join(", ", reported.Values.GroupBy(r => r.State).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}"));

        var stop = Stopwatch.StartNew();
        Process.Start("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        while (File.Exists($"/proc/{pid}/stat") && stop.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(20);
        var stopped = stop.Elapsed.TotalSeconds;
        var scrapeTimes = $"{Median(scrapes) * 1000:0}/{scrapes.Max() * 1000:0} ms";
        var userSys = $"(user {(split1.User - split0.User) / seconds:0.00}, system {(split1.System - split0.System) / seconds:0.00})";
        Console.WriteLine($"{tool,-18} {n,7:N0} {(cpu1 - cpu0) / seconds,8:0.00} {rss,6:N0} MB {sent / (double)seconds,8:N0} {100.0 * answered / Math.Max(1, sent),8:0.00}% {p99 * 1000,6:0} ms {size / 1024.0,8:N0} KB {scrapeTimes,12} {faults,30} {stopped,6:0.00} s   ({seen}) {userSys}");
    }

    private static void Fping(int n, int seconds)
    {
        if (!File.Exists("/usr/bin/fping"))
        {
            Console.WriteLine($"{"fping",-18} {n,7:N0}   not installed (apt-get install fping)");
            return;
        }
        {
            using var clean = ScaleLab.Create(n);
            var list = Path.Combine(clean.Dir, "targets");
            File.WriteAllLines(list, clean.Targets);
            var (fping, fpid) = clean.StartInAgentNs("fping", "-q", "-c", seconds.ToString(CultureInfo.InvariantCulture), "-p", "1000", "-i", "1", "-f", list);
            Thread.Sleep(TimeSpan.FromSeconds(seconds / 2.0));
            var f0 = ScaleLab.CpuSeconds(fpid);
            Thread.Sleep(TimeSpan.FromSeconds(seconds / 4.0));
            var f1 = ScaleLab.CpuSeconds(fpid);
            var frss = ScaleLab.RssMb(fpid);
            var summary = fping.StandardError.ReadToEnd();
            fping.WaitForExit(seconds * 2000);
            var pairs = XmtRcv().Matches(summary).Select(m => (Xmt: long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Rcv: long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))).ToList();
            var fx = pairs.Sum(p => p.Xmt);
            var fr = pairs.Sum(p => p.Rcv);
            Console.WriteLine($"{"fping",-18} {n,7:N0} {(f1 - f0) / (seconds / 4.0),8:0.00} {frss,6:N0} MB {fx / (double)seconds,8:N0} {100.0 * fr / Math.Max(1, fx),8:0.00}% {"-",9} {"-",24} {"-",30} {"-",8}");
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static Dictionary<string, string> States(string metrics) =>
        StateLine().Matches(metrics).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

    private static long Sum(string metrics, string results) =>
        Regex.Matches(metrics, $$"""^reachprobe_probes_total\{[^}]*result="({{results}})"\} (\d+)""", RegexOptions.Multiline)
            .Sum(m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));

    private static int Count(string text, Regex regex) => regex.Matches(text).Count;

    /// <summary>The 99th percentile of schedule lag between two scrapes: the first bucket holding 99 % of the attempts.</summary>
    private static double LagP99(string before, string after)
    {
        Dictionary<double, long> Buckets(string text) => LagBucket().Matches(text).ToDictionary(
            m => m.Groups[1].Value == "+Inf" ? double.PositiveInfinity : double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
            m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        var b0 = Buckets(before);
        var b1 = Buckets(after);
        var total = b1.GetValueOrDefault(double.PositiveInfinity) - b0.GetValueOrDefault(double.PositiveInfinity);
        foreach (var (le, count) in b1.OrderBy(kv => kv.Key))
            if (count - b0.GetValueOrDefault(le) >= 0.99 * total) return le;
        return double.NaN;
    }

    [GeneratedRegex("""^reachprobe_target_state\{[^}]*state="up"\} 1$""", RegexOptions.Multiline)]
    private static partial Regex UpLine();

    [GeneratedRegex("""^reachprobe_target_state\{target="([\d.]+)",state="(\w+)"\} 1$""", RegexOptions.Multiline)]
    private static partial Regex StateLine();

    [GeneratedRegex("""^reachprobe_probe_schedule_lag_seconds_bucket\{le="([^"]+)"\} (\d+)""", RegexOptions.Multiline)]
    private static partial Regex LagBucket();

    [GeneratedRegex(""": xmt/rcv/%loss = (\d+)/(\d+)/""")]
    private static partial Regex XmtRcv();
}
