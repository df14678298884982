using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using ReachProbe.Testing;

namespace ReachProbe.Benchmarks;

/// <summary>
/// Detection latency of the live agent in the lab: fault injected → new state on /metrics, for deaf, down and
/// recovery, at a 1 s probe interval; then the agent's CPU and memory while it monitors one target for a minute.
/// </summary>
internal static partial class Latency
{
    private const int Port = 9942;

    public static int Run(int injections, TimeSpan steady)
    {
        using var lab = LabNetwork.Create();
        lab.ReachprobeDll = Path.Combine(AppContext.BaseDirectory, "reachprobe.dll");
        lab.StartChatter();
        var agent = lab.StartAgent(["--target", LabNetwork.ConsoleIp, "--interval", "1", "--listen", $"{LabNetwork.ProbeIp}:{Port}"]);
        Wait(lab, "up", TimeSpan.FromSeconds(30));
        var deaf = new List<double>();
        var down = new List<double>();
        var recovery = new List<double>();
        for (var i = 0; i < injections; i++)
        {
            Console.Error.Write($"\r  injection {i + 1}/{injections}   ");
            Thread.Sleep(2000 + Random.Shared.Next(1000)); // settle, and land at a random point of the probe cycle
            deaf.Add(Time(lab, lab.MakeDeaf, "deaf"));
            Thread.Sleep(1000);
            recovery.Add(Time(lab, () => { lab.Heal(); lab.GratuitousArp(); }, "up"));
            Thread.Sleep(2000 + Random.Shared.Next(1000));
            down.Add(Time(lab, lab.LinkDown, "down"));
            Thread.Sleep(1000);
            recovery.Add(Time(lab, lab.LinkUp, "up"));
        }
        Console.Error.WriteLine();
        Console.WriteLine($"Detection latency, fault → state on /metrics, 1 s probe interval, {injections} injections each:");
        Console.WriteLine($"{"",-10} {"p50",8} {"p95",8} {"max",8}");
        foreach (var (name, xs) in new[] { ("deaf", deaf), ("down", down), ("recovery", recovery) })
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-10} {Pct(xs, 0.5),7:0.00}s {Pct(xs, 0.95),7:0.00}s {xs.Max(),7:0.00}s"));

        // CPU and memory while monitoring one healthy target.
        var cpu0 = CpuSeconds(agent.Id);
        var watch = Stopwatch.StartNew();
        Thread.Sleep(steady);
        var cpu = CpuSeconds(agent.Id) - cpu0;
        var (rss, hwm) = Memory(agent.Id);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Agent monitoring one target for {watch.Elapsed.TotalSeconds:0} s: CPU {100 * cpu / watch.Elapsed.TotalSeconds:0.00} % of one core, RSS {rss / 1048576.0:0} MB (peak {hwm / 1048576.0:0} MB)"));
        return 0;
    }

    private static double Time(LabNetwork lab, Action inject, string want)
    {
        var watch = Stopwatch.StartNew();
        inject();
        Wait(lab, want, TimeSpan.FromSeconds(60));
        return watch.Elapsed.TotalSeconds;
    }

    private static void Wait(LabNetwork lab, string want, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < limit)
        {
            var m = lab.HttpGet(LabNetwork.ProbeIp, Port, "/metrics");
            if (m is not null && State().Match(m) is { Success: true } s && s.Groups[1].Value == want) return;
            Thread.Sleep(50);
        }
        throw new TimeoutException($"state not {want} within {limit}");
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

    [GeneratedRegex("""^reachprobe_target_state\{target="198\.18\.0\.27",state="(\w+)"\} 1$""", RegexOptions.Multiline)]
    private static partial Regex State();
}
