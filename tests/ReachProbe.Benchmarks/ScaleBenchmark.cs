using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ReachProbe.Benchmarks;

/// <summary>
/// The live agent at a venue's scale: two network namespaces made for the run (the agent on one end of a veth, N
/// answering addresses in 198.18.16.0/20 on the other), probes icmp + arp every second for a while, then fping on the
/// same addresses for as long. Prints CPU-s/s (from /proc/PID/stat), RSS, probes answered, schedule lag, the scrape's
/// size and time, and the time SIGTERM takes. Root only; needs curl, and fping for its row. Asserts nothing.
/// </summary>
internal static partial class ScaleBenchmark
{
    public static int Run(IReadOnlyList<int> sizes, int seconds)
    {
        if (Environment.UserName != "root")
        {
            Console.Error.WriteLine("scale: needs root (it builds network namespaces)");
            return 2;
        }
        var dll = Path.Combine(AppContext.BaseDirectory, "reachprobe.dll");
        Console.WriteLine($"ReachProbe at scale — icmp+arp every 1 s, {seconds} s per run, {Environment.ProcessorCount} cores");
        Console.WriteLine($"{"tool",-12} {"targets",7} {"CPU-s/s",8} {"RSS",8} {"sent/s",8} {"answered",9} {"lag p99",8} {"/metrics",18} {"SIGTERM",8}");
        foreach (var n in sizes) Once(dll, n, seconds);
        return 0;
    }

    private static void Once(string dll, int n, int seconds)
    {
        var suffix = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
        string agentNs = $"rpsa-{suffix}", targetNs = $"rpst-{suffix}";
        var dir = Directory.CreateTempSubdirectory($"reachprobe-scale-{suffix}-").FullName;
        var started = new List<Process>();
        try
        {
            foreach (var ns in new[] { agentNs, targetNs })
            {
                Sh("ip", "netns", "add", ns);
                Sh("ip", "-n", ns, "link", "set", "lo", "up");
            }
            Sh("ip", "link", "add", "sa0", "netns", agentNs, "type", "veth", "peer", "name", "st0", "netns", targetNs);
            Sh("ip", "-n", agentNs, "addr", "add", "198.18.16.1/20", "dev", "sa0");
            var targets = Enumerable.Range(2, n).Select(i => $"198.18.{16 + i / 256}.{i % 256}").ToList();
            var batch = Path.Combine(dir, "addresses");
            File.WriteAllLines(batch, targets.Select(t => $"address add {t}/20 dev st0"));
            Sh("ip", "-n", targetNs, "-batch", batch);
            foreach (var (ns, dev) in new[] { (agentNs, "sa0"), (targetNs, "st0") }) Sh("ip", "-n", ns, "link", "set", dev, "up");

            var config = Path.Combine(dir, "reachprobe.json");
            File.WriteAllText(config, JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["listen"] = "198.18.16.1:9942",
                ["history"] = null,
                ["maxTargets"] = Math.Max(n, 4096),
                ["defaults"] = new Dictionary<string, object> { ["probes"] = new[] { "icmp", "arp" }, ["intervalSeconds"] = 1 },
                ["targets"] = targets.Select(t => new Dictionary<string, string> { ["ip"] = t }).ToList(),
            }));
            var agentStart = Start(started, "ip", "netns", "exec", agentNs, "dotnet", dll, "run", "--config", config);
            var pid = WaitForPid(agentNs);
            // Warm up until every target is up (or a minute), then measure.
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < TimeSpan.FromSeconds(60) && Count(Scrape(agentNs).Text, UpLine()) < n) Thread.Sleep(1000);
            var before = Scrape(agentNs).Text;
            var cpu0 = CpuTicks(pid);
            Thread.Sleep(TimeSpan.FromSeconds(seconds));
            var cpu1 = CpuTicks(pid);
            var rss = RssMb(pid);
            var (after, size, time) = Scrape(agentNs);
            var sent = Sum(after, "answered|timeout|unreachable") - Sum(before, "answered|timeout|unreachable");
            var answered = Sum(after, "answered") - Sum(before, "answered");
            var p99 = LagP99(before, after);
            var stop = Stopwatch.StartNew();
            Sh("kill", "-TERM", pid.ToString(CultureInfo.InvariantCulture));
            while (File.Exists($"/proc/{pid}/stat") && stop.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(20);
            var stopped = stop.Elapsed.TotalSeconds;
            agentStart.WaitForExit(5000);
            Console.WriteLine($"{"reachprobe",-12} {n,7:N0} {(cpu1 - cpu0) / 100.0 / seconds,8:0.00} {rss,6:N0} MB {sent / (double)seconds,8:N0} {100.0 * answered / Math.Max(1, sent),8:0.00}% {p99 * 1000,6:0} ms {size / 1024.0,8:N0} KB {time * 1000,5:0} ms {stopped,6:0.00} s");

            if (File.Exists("/usr/bin/fping"))
            {
                var list = Path.Combine(dir, "targets");
                File.WriteAllLines(list, targets);
                var fping = Start(started, "ip", "netns", "exec", agentNs, "fping", "-q", "-c", seconds.ToString(CultureInfo.InvariantCulture), "-p", "1000", "-i", "1", "-f", list);
                var fpid = WaitForPid(agentNs);
                Thread.Sleep(TimeSpan.FromSeconds(seconds / 2.0));
                var f0 = CpuTicks(fpid);
                Thread.Sleep(TimeSpan.FromSeconds(seconds / 4.0));
                var f1 = CpuTicks(fpid);
                var frss = RssMb(fpid);
                var summary = fping.StandardError.ReadToEnd();
                fping.WaitForExit(seconds * 2000);
                var pairs = XmtRcv().Matches(summary).Select(m => (Xmt: long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Rcv: long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))).ToList();
                var fx = pairs.Sum(p => p.Xmt);
                var fr = pairs.Sum(p => p.Rcv);
                Console.WriteLine($"{"fping",-12} {n,7:N0} {(f1 - f0) / 100.0 / (seconds / 4.0),8:0.00} {frss,6:N0} MB {fx / (double)seconds,8:N0} {100.0 * fr / Math.Max(1, fx),8:0.00}% {"-",9} {"-",18} {"-",8}");
            }
        }
        finally
        {
            foreach (var p in started)
            {
                try
                {
                    if (!p.HasExited) p.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                }
            }
            foreach (var ns in new[] { agentNs, targetNs })
            {
                foreach (var pid in Sh("ip", "netns", "pids", ns).Split('\n', StringSplitOptions.RemoveEmptyEntries)) Sh("kill", "-KILL", pid.Trim());
                Sh("ip", "netns", "del", ns);
            }
            Directory.Delete(dir, recursive: true);
        }
    }

    private static int WaitForPid(string ns)
    {
        for (var i = 0; i < 200; i++)
        {
            var pids = Sh("ip", "netns", "pids", ns).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (pids.Length > 0) return int.Parse(pids[^1].Trim(), CultureInfo.InvariantCulture);
            Thread.Sleep(50);
        }
        throw new TimeoutException($"nothing started in {ns}");
    }

    private static (string Text, long Size, double Seconds) Scrape(string ns)
    {
        var output = Sh("ip", "netns", "exec", ns, "curl", "-s", "-m", "10", "-w", "\n#SIZE %{size_download} %{time_total}", "http://198.18.16.1:9942/metrics");
        var m = SizeLine().Match(output);
        return m.Success
            ? (output, long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))
            : (output, 0, 0);
    }

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

    private static long CpuTicks(int pid)
    {
        var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture); // utime + stime
    }

    private static double RssMb(int pid) =>
        File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0).FirstOrDefault();

    private static Process Start(List<Process> started, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        started.Add(p);
        if (file != "ip" || !args.Contains("fping")) p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        return p;
    }

    private static string Sh(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return output;
    }

    [GeneratedRegex("""^reachprobe_target_state\{[^}]*state="up"\} 1$""", RegexOptions.Multiline)]
    private static partial Regex UpLine();

    [GeneratedRegex("""#SIZE (\d+) ([\d.]+)""")]
    private static partial Regex SizeLine();

    [GeneratedRegex("""^reachprobe_probe_schedule_lag_seconds_bucket\{le="([^"]+)"\} (\d+)""", RegexOptions.Multiline)]
    private static partial Regex LagBucket();

    [GeneratedRegex(""": xmt/rcv/%loss = (\d+)/(\d+)/""")]
    private static partial Regex XmtRcv();
}
