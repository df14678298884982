using System.Globalization;
using System.Net;
using Microsoft.Extensions.Hosting;
using ReachProbe.Agent;
using ReachProbe.Probes;
using ReachProbe.Wire;

namespace ReachProbe.Cli;

/// <summary><c>reachprobe run</c>: the live agent. Without a config or a target it monitors the default gateway.</summary>
internal static class RunCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        string? configPath = null;
        var targets = new List<string>();
        double? interval = null;
        string? listen = null;
        string? iface = null;
        var check = false;
        string? history = null;
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            switch (a)
            {
                case "--config": configPath = CommandLine.Value(args, ref i, a); break;
                case "--target": targets.Add(CommandLine.Value(args, ref i, a)); break;
                case "--interval":
                    var text = CommandLine.Value(args, ref i, a);
                    interval = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s is >= 0.1 and <= 86400
                        ? s : throw new UsageException($"--interval takes seconds (0.1–86400), not '{text}'");
                    break;
                case "--listen": listen = CommandLine.Value(args, ref i, a); break;
                case "--interface": iface = CommandLine.Value(args, ref i, a); break;
                case "--check": check = true; break;
                case "--history": history = CommandLine.Value(args, ref i, a); break;
                default: throw new UsageException($"unknown option '{a}' for run");
            }
        }

        AgentConfig config;
        try
        {
            config = configPath is null ? new AgentConfig() : AgentConfig.Load(configPath);
        }
        catch (ConfigException e)
        {
            foreach (var p in e.Problems) stderr.WriteLine($"reachprobe: {p}");
            return CommandLine.Usage;
        }
        if (listen is not null)
            config = config with { Listen = AgentConfig.TryParseEndpoint(listen, out var ep) ? ep : throw new UsageException($"--listen '{listen}' is not ADDRESS:PORT") };
        if (iface is not null) config = config with { Interface = iface };
        if (history is not null) config = config with { History = history == "none" ? null : history };
        var defaults = ProbeSpec.ParseList(ProbeSpec.Defaults, out _);
        var every = TimeSpan.FromSeconds(interval ?? 5);
        var timeout = TimeSpan.FromSeconds(Math.Min(1, every.TotalSeconds));
        if (targets.Count > 0)
        {
            var list = new List<TargetConfig>();
            foreach (var t in targets)
            {
                if (!Addresses.TryParseIp(t, out var ip) || !WirePipeline.IsUnicast(ip)) throw new UsageException($"--target '{t}' is not a unicast IPv4 address");
                list.Add(new TargetConfig { Name = t, Ip = IPAddress.Parse(t), Probes = DefaultsFor(IPAddress.Parse(t), iface, defaults, stderr), Interval = every, Timeout = timeout });
            }
            config = config with { Targets = list };
        }
        else if (config.Targets.Count == 0)
        {
            var gateway = AgentHost.DefaultGateway();
            if (gateway is null)
            {
                stderr.WriteLine("reachprobe: no target given and no default gateway to monitor: give --target IP or a --config file");
                return CommandLine.Usage;
            }
            config = config with { Targets = [new TargetConfig { Name = gateway.ToString(), Ip = gateway, Probes = DefaultsFor(gateway, iface, defaults, stderr), Interval = every, Timeout = timeout }] };
        }
        else if (interval is not null)
        {
            config = config with { Targets = config.Targets.Select(t => t with { Interval = every, Timeout = t.Timeout > every ? every : t.Timeout }).ToList() };
        }

        var captureInterface = AgentHost.CaptureInterface(config);
        var probes = AgentHost.Probes(config, out var problems);
        if (captureInterface is null) problems.Add("$.interface: no interface faces the targets (and there is no default route): set \"interface\"");
        if (problems.Count > 0)
        {
            foreach (var p in problems) stderr.WriteLine($"reachprobe: {configPath ?? "command line"}: {p}");
            foreach (var p in probes) p.Probe.Dispose();
            return CommandLine.Usage;
        }
        stderr.WriteLine($"reachprobe run: monitoring {string.Join(", ", config.Targets.Select(t => t.Name == t.Ip.ToString() ? t.Name : $"{t.Name} ({t.Ip})"))} "
            + $"on {captureInterface}; metrics on http://{config.Listen}/metrics; history {config.History ?? "off"}");
        if (check) return CommandLine.Ok;

        using var host = AgentHost.Build(config, captureInterface!, probes);
        try
        {
            await host.RunAsync().ConfigureAwait(false);
        }
        catch (ListenException e)
        {
            stderr.WriteLine($"reachprobe: {e.Message}");
            return CommandLine.Usage;
        }
        finally
        {
            foreach (var p in probes) p.Probe.Dispose();
        }
        return CommandLine.Ok;
    }

    /// <summary>The default probes, less ARP for a target on no attached subnet (ARP cannot reach it; said once).</summary>
    private static IReadOnlyList<ProbeSpec> DefaultsFor(IPAddress target, string? iface, IReadOnlyList<ProbeSpec> defaults, TextWriter stderr)
    {
        if (NetworkPath.Find(target, iface, out var problem) is not null) return defaults;
        stderr.WriteLine($"reachprobe: {target}: no ARP probe: {problem}");
        return defaults.Where(p => p.Kind != ProbeKind.Arp).ToList();
    }

}
