using System.Diagnostics;
using System.Globalization;
using ReachProbe.Testing;

namespace ReachProbe.Benchmarks;

/// <summary>
/// What each build of ReachProbe costs a small machine: the size of its folder, the time to start and answer
/// <c>--version</c> (a whole process, median of 5), and the agent's resident memory with 1 and 100 targets probed with
/// icmp + arp + ddp every 5 s — as a Raspberry Pi watches a console — under the systemd unit's environment (its GC
/// settings), in a lab namespace, read after a minute of settling (the highest of six readings 5 s apart). Builds are
/// given as NAME=PATH (a .dll runs under dotnet; anything else is a self-contained program). Asserts nothing.
/// </summary>
internal static class FootprintBenchmark
{
    public static int Run(IReadOnlyList<(string Name, string Path)> builds, IReadOnlyList<int> sizes)
    {
        if (Environment.UserName != "root")
        {
            Console.Error.WriteLine("footprint: needs root (it builds a lab in network namespaces)");
            return 2;
        }
        if (builds.FirstOrDefault(b => !File.Exists(b.Path)) is { Path: not null } missing)
        {
            Console.Error.WriteLine($"footprint: {missing.Name}: no program at {missing.Path} (give NAME=PROGRAM; NAME without '=')");
            return 2;
        }
        var unit = ScaleBenchmark.UnitEnvironment();
        Console.WriteLine($"ReachProbe's footprint — icmp+arp+ddp every 5 s, {Environment.ProcessorCount} cores; the unit's environment ({string.Join(" ", unit.Select(kv => $"{kv.Key}={kv.Value}"))})");
        Console.WriteLine($"{"build",-28} {"size",8} {"start",8} " + string.Concat(sizes.Select(n => $"{$"RSS {n} tgt",12}")));
        foreach (var (name, path) in builds)
        {
            var size = DirectorySize(Path.GetDirectoryName(Path.GetFullPath(path))!) / 1048576.0;
            var start = Median(Enumerable.Range(0, 5).Select(_ => StartTime(path)).ToList());
            var rss = sizes.Select(n => Rss(name, path, n, unit)).ToList();
            Console.WriteLine($"{name,-28} {size,5:0} MB {start,6:0.00} s " + string.Concat(rss.Select(r => $"{r.Total,9:0} MB")));
            Console.WriteLine($"{"  of which anonymous + files",-28} {"",8} {"",8} " + string.Concat(rss.Select(r => $"{$"{r.Anon:0}+{r.File:0}",12}")));
        }
        return 0;
    }

    private static double StartTime(string path)
    {
        var psi = path.EndsWith(".dll", StringComparison.Ordinal) ? new ProcessStartInfo("dotnet") { ArgumentList = { path, "--version" } } : new ProcessStartInfo(path) { ArgumentList = { "--version" } };
        psi.RedirectStandardOutput = true;
        var watch = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return watch.Elapsed.TotalSeconds;
    }

    private static (double Total, double Anon, double File) Rss(string name, string path, int n, IReadOnlyDictionary<string, string> unit)
    {
        using var lab = ScaleLab.Create(n);
        var log = new System.Text.StringBuilder();
        var (agent, pid) = lab.StartAgent(path, lab.WriteConfig(5, "icmp", "arp", "ddp"), log, unit);
        Thread.Sleep(TimeSpan.FromSeconds(60));
        var highest = (Total: 0.0, Anon: 0.0, File: 0.0);
        for (var i = 0; i < 6 && !agent.HasExited; i++)
        {
            var now = Status(pid);
            if (now.Total > highest.Total) highest = now;
            Thread.Sleep(TimeSpan.FromSeconds(5));
        }
        // REACHPROBE_FOOTPRINT_SMAPS=DIR keeps each run's /proc/PID/smaps: which mappings hold the memory.
        if (Environment.GetEnvironmentVariable("REACHPROBE_FOOTPRINT_SMAPS") is { Length: > 0 } dir && !agent.HasExited)
            File.Copy($"/proc/{pid}/smaps", Path.Combine(dir, $"{name}-{n}.smaps"), overwrite: true);
        if (agent.HasExited) lock (log) Console.Error.WriteLine($"footprint: the agent exited: {log}");
        Process.Start("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        agent.WaitForExit(10_000);
        return highest;
    }

    /// <summary>VmRSS and its anonymous and file-backed parts (RssAnon, RssFile + RssShmem), in MB.</summary>
    private static (double Total, double Anon, double File) Status(int pid)
    {
        double total = 0, anon = 0, file = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            var parts = line.Split(':', 2);
            if (parts.Length < 2) continue;
            var mb = () => long.Parse(parts[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
            switch (parts[0])
            {
                case "VmRSS": total = mb(); break;
                case "RssAnon": anon = mb(); break;
                case "RssFile" or "RssShmem": file += mb(); break;
            }
        }
        return (total, anon, file);
    }

    private static long DirectorySize(string dir) => new DirectoryInfo(dir).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    private static double Median(List<double> xs)
    {
        xs.Sort();
        return xs.Count % 2 == 1 ? xs[xs.Count / 2] : (xs[xs.Count / 2 - 1] + xs[xs.Count / 2]) / 2;
    }
}
