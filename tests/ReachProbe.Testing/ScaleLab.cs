using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ReachProbe.Testing;

/// <summary>
/// A venue in two network namespaces made for the run: the agent on one end of a veth (198.18.16.1/20), N answering
/// addresses on the other (198.18.16.2 …, one host's aliases: one MAC, one kernel). Faults per address: deaf (nftables
/// drops what is sent to it, its kernel still transmits for the others) and removed (the address deleted). Torn
/// down by name and PID.
/// </summary>
public sealed class ScaleLab : IDisposable
{
    public const string AgentIp = "198.18.16.1";
    public const int Port = 9942;

    private readonly string _dir;
    private readonly List<Process> _started = [];
    private bool _deafTable;

    public string AgentNs { get; }
    public string TargetNs { get; }
    public IReadOnlyList<string> Targets { get; }
    public string Dir => _dir;

    private ScaleLab(int n)
    {
        var suffix = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
        AgentNs = $"rpsa-{suffix}";
        TargetNs = $"rpst-{suffix}";
        _dir = Directory.CreateTempSubdirectory($"reachprobe-scale-{suffix}-").FullName;
        Targets = Enumerable.Range(2, n).Select(i => $"198.18.{16 + i / 256}.{i % 256}").ToList();
    }

    /// <summary>The interface the agent captures on: its veth (a plain port), or the bridge it sits inline on.</summary>
    public string AgentInterface { get; private set; } = "sa0";

    /// <summary>
    /// Builds the venue with <paramref name="n"/> addresses (at most 4,000). <paramref name="bridge"/>: the agent's side
    /// is a bridge (sbr0) with the veth and a second, idle port (sx0) — the inline placement, where the agent reads the
    /// bridge's forwarding database and port carriers.
    /// </summary>
    public static ScaleLab Create(int n, bool bridge = false)
    {
        LabNetwork.RequireRoot();
        var lab = new ScaleLab(n);
        try
        {
            foreach (var ns in new[] { lab.AgentNs, lab.TargetNs })
            {
                Sh("ip", "netns", "add", ns);
                Sh("ip", "-n", ns, "link", "set", "lo", "up");
            }
            Sh("ip", "link", "add", "sa0", "netns", lab.AgentNs, "type", "veth", "peer", "name", "st0", "netns", lab.TargetNs);
            if (bridge)
            {
                lab.AgentInterface = "sbr0";
                Sh("ip", "-n", lab.AgentNs, "link", "add", "sbr0", "type", "bridge");
                Sh("ip", "-n", lab.AgentNs, "link", "add", "sx0", "type", "veth", "peer", "name", "sx1");
                foreach (var port in new[] { "sa0", "sx0" }) Sh("ip", "-n", lab.AgentNs, "link", "set", port, "master", "sbr0");
                foreach (var dev in new[] { "sbr0", "sx0", "sx1" }) Sh("ip", "-n", lab.AgentNs, "link", "set", dev, "up");
            }
            Sh("ip", "-n", lab.AgentNs, "addr", "add", $"{AgentIp}/20", "dev", lab.AgentInterface);
            var batch = Path.Combine(lab._dir, "addresses");
            File.WriteAllLines(batch, lab.Targets.Select(t => $"address add {t}/20 dev st0"));
            Sh("ip", "-n", lab.TargetNs, "-batch", batch);
            foreach (var (ns, dev) in new[] { (lab.AgentNs, "sa0"), (lab.TargetNs, "st0") }) Sh("ip", "-n", ns, "link", "set", dev, "up");
            return lab;
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    /// <summary>Writes the agent's configuration: every address, <paramref name="probes"/> every second, no history.</summary>
    public string WriteConfig(params string[] probes) => WriteConfig(1, probes);

    /// <summary>Writes the agent's configuration: every address, <paramref name="probes"/> every <paramref name="interval"/> seconds, no history.</summary>
    public string WriteConfig(double interval, params string[] probes)
    {
        var config = Path.Combine(_dir, "reachprobe.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["listen"] = $"{AgentIp}:{Port}",
            ["history"] = null,
            ["maxTargets"] = Math.Max(Targets.Count, 4096),
            ["defaults"] = new Dictionary<string, object> { ["probes"] = probes, ["intervalSeconds"] = interval },
            ["targets"] = Targets.Select(t => new Dictionary<string, string> { ["ip"] = t }).ToList(),
        }));
        return config;
    }

    /// <summary>Starts <c>reachprobe run</c> in the agent's namespace; returns the process (ip netns exec) and the agent's PID.</summary>
    /// <param name="environment">More environment (the systemd unit's, for the benchmark).</param>
    public (Process Launcher, int Pid) StartAgent(string dll, string config, StringBuilder? log = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        // A .dll runs with the SDK's dotnet; anything else is a program of its own (a self-contained build).
        string[] program = dll.EndsWith(".dll", StringComparison.Ordinal) ? ["dotnet", dll] : [dll];
        foreach (var a in new[] { "netns", "exec", AgentNs }.Concat(program).Concat(["run", "--config", config])) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null && log is not null) lock (log) log.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null && log is not null) lock (log) log.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _started.Add(p);
        return (p, WaitForPid(AgentNs));
    }

    /// <summary>Starts any command in the agent's namespace (fping); returns it and its PID.</summary>
    public (Process Process, int Pid) StartInAgentNs(params string[] command)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "netns", "exec", AgentNs }.Concat(command)) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        _started.Add(p);
        return (p, WaitForPid(AgentNs));
    }

    /// <summary>The agent's /metrics, with its size and how long it took; null text when nothing answered.</summary>
    public (string? Text, long Size, double Seconds) Scrape()
    {
        var watch = Stopwatch.StartNew();
        var text = LabNetwork.HttpGetIn(AgentNs, AgentIp, Port, "/metrics");
        return (text, text is null ? 0 : Encoding.UTF8.GetByteCount(text), watch.Elapsed.TotalSeconds);
    }

    /// <summary>Makes these addresses deaf: everything sent to them (IPv4 and ARP) is dropped on arrival.</summary>
    public void Deafen(IEnumerable<string> addresses)
    {
        var set = "{ " + string.Join(", ", addresses) + " }";
        if (!_deafTable)
        {
            Sh("ip", "netns", "exec", TargetNs, "nft", "add", "table", "netdev", "deaf");
            Sh("ip", "netns", "exec", TargetNs, "nft", "add", "chain", "netdev", "deaf", "ingress",
                "{ type filter hook ingress device \"st0\" priority -500; policy accept; }");
            _deafTable = true;
        }
        Sh("ip", "netns", "exec", TargetNs, "nft", "add", "rule", "netdev", "deaf", "ingress", "ip", "daddr", set, "drop");
        Sh("ip", "netns", "exec", TargetNs, "nft", "add", "rule", "netdev", "deaf", "ingress", "arp", "daddr", "ip", set, "drop");
    }

    /// <summary>Deletes these addresses from the target host.</summary>
    public void Remove(IEnumerable<string> addresses)
    {
        foreach (var a in addresses) Sh("ip", "-n", TargetNs, "addr", "del", $"{a}/20", "dev", "st0");
    }

    /// <summary>CPU seconds (user + system) the process has used.</summary>
    public static double CpuSeconds(int pid) => CpuSplit(pid) is var (user, system) ? user + system : 0;

    /// <summary>CPU seconds the process has used in user mode and in the kernel (system calls, and the packets its sends drive through the kernel).</summary>
    public static (double User, double System) CpuSplit(int pid)
    {
        var f = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (long.Parse(f[11], CultureInfo.InvariantCulture) / 100.0, long.Parse(f[12], CultureInfo.InvariantCulture) / 100.0);
    }

    /// <summary>Resident memory in MB.</summary>
    public static double RssMb(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        return 0;
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

    private static string Sh(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {error.Trim()}");
        return output;
    }

    public void Dispose()
    {
        foreach (var p in _started)
        {
            try
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
            }
        }
        foreach (var ns in new[] { AgentNs, TargetNs })
        {
            try
            {
                // Anything still running in our namespaces was started by this lab: end it by PID, then delete the namespace.
                foreach (var pid in Sh("ip", "netns", "pids", ns).Split('\n', StringSplitOptions.RemoveEmptyEntries)) Sh("kill", "-KILL", pid.Trim());
                Sh("ip", "netns", "del", ns);
            }
            catch (InvalidOperationException)
            {
            }
        }
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
