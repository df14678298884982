using System.CommandLine;
using ReachProbe.Settings;
using System.Net;
using Microsoft.Extensions.Hosting;
using ReachProbe.Agent;
using ReachProbe.Probes;
using ReachProbe.Wire;

namespace ReachProbe.Cli;

/// <summary><c>reachprobe run</c>: the live agent. Without a config or a target it monitors the default gateway.</summary>
internal static class RunCommand
{
    /// <summary>The probe interval's range, in seconds (the command line and the configuration).</summary>
    public static ValueRange Interval => AgentConfig.IntervalSeconds;

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var config = Values.Path("--config", "JSON configuration (example: config/reachprobe.json)");
        var targets = Values.HostTargets("--target", "monitor this host with the default probes (repeatable): its IPv4 or IPv6 address (fe80::…%IFACE for a link-local one), its host name (resolved on its TTL), or its MAC (its address learned from the wire and followed); default: the gateway");
        var interval = Values.Number("--interval", Interval, $"probe interval for those targets (default {ProbeSpec.DefaultInterval.TotalSeconds}, {Interval.Text})");
        var listen = Values.Endpoint("--listen", $"metrics address (default 0.0.0.0:{AgentConfig.DefaultPort})");
        var iface = Values.Word("--interface", "capture interface, or several, comma-separated: one capture each, each target watched on the one facing it (default: the one facing the targets)", "NAME[,NAME…]");
        // --db, as report and analyze name the database; --history is its older name here, still taken.
        var history = Values.Path("--db", $"incident history database (a file, or postgresql://[user@][host][:port]/db), or 'none' (default $REACHPROBE_DB, else the configuration's, else {ReachProbe.History.HistoryStore.DefaultPathText})",
            "FILE|postgresql://…|none", "--history");
        var probes = new Option<string?>("--probes")
        {
            Description = $"comma-separated probes for every target: {ProbeSpec.Syntaxes} (default {ProbeSpec.Defaults}, or the configuration's)",
            HelpName = "LIST",
        };
        var timeout = Values.Number("--timeout", ProbeRunner.TimeoutSeconds, $"seconds per attempt, at most the interval (default {ProbeSpec.DefaultTimeout.TotalSeconds}, {ProbeRunner.TimeoutSeconds.Text}); probes are never retried");
        var logFormat = Values.OneOf("--log-format", "log lines: plain (time, level, a sentence) or json (one object a line, for journald or Loki); default the configuration's, else plain", "plain", "json");
        var check = new Option<bool>("--check") { Description = "validate the configuration, say what would be monitored, and exit (nothing is started or sent)" };
        var command = new Command("run", "the live agent: probes + capture → verdicts → /metrics") { config, targets, interval, probes, timeout, listen, iface, history, logFormat, check };
        command.SetAction((parse, cancel) =>
        {
            IReadOnlyList<ProbeSpec>? probeList = null;
            if (parse.GetValue(probes) is { } text)
            {
                probeList = ProbeSpec.ParseList(text, out var problems);
                if (problems.Count > 0) throw new UsageException("--probes: " + string.Join("; ", problems));
            }
            return RunAsync(parse.GetValue(config), parse.GetValue(targets) ?? [], parse.GetValue(interval), probeList, parse.GetValue(timeout), parse.GetValue(listen),
                parse.GetValue(iface), parse.GetValue(history), parse.GetValue(logFormat), parse.GetValue(check), stdout, stderr);
        });
        return command;
    }

    private static async Task<int> RunAsync(string? configPath, List<(IPAddress? Ip, string? Mac, string? Host)> targets, double? interval, IReadOnlyList<ProbeSpec>? probeList, double? timeoutSeconds,
        IPEndPoint? listen, string? iface, string? history, string? logFormat, bool check, TextWriter stdout, TextWriter stderr)
    {
        // Caught from here: a SIGHUP before the agent can reload (a unit reloaded as it starts) waits for it.
        using var hangups = new Hangups();
        AgentConfig config;
        try
        {
            // Without a file the environment's REACHPROBE__ overrides still apply.
            config = configPath is null ? AgentConfig.FromEnvironment() : AgentConfig.Load(configPath);
        }
        catch (ConfigException e)
        {
            foreach (var p in e.Problems) stderr.WriteLine($"reachprobe: {p}");
            return CommandLine.Usage;
        }
        // $REACHPROBE_DB names the database as it does for report and analyze, where neither --db nor the file does.
        var environmentDb = Environment.GetEnvironmentVariable("REACHPROBE_DB") is { Length: > 0 } env ? env : null;
        // The command line's settings win over the file's, at start and at every reload (SIGHUP).
        AgentConfig Overrides(AgentConfig c)
        {
            if (history is null && environmentDb is not null && c.History == AgentConfig.DefaultHistory) c = c with { History = environmentDb };
            if (listen is not null) c = c with { Listen = listen };
            if (logFormat is not null) c = c with { LogFormat = logFormat };
            if (iface is not null) c = Interfaces(c, iface);
            if (history is not null) c = c with { History = history == "none" ? null : history };
            if (interval is not null)
            {
                var each = TimeSpan.FromSeconds(interval.Value);
                c = c with { Targets = c.Targets.Select(t => t with { Interval = each, Timeout = t.Timeout > each ? each : t.Timeout }).ToList() };
            }
            if (probeList is not null) c = c with { Targets = c.Targets.Select(t => t with { Probes = probeList, ProbesGiven = true }).ToList() };
            if (timeoutSeconds is { } ts) c = c with { Targets = c.Targets.Select(t => t with { Timeout = TimeSpan.FromSeconds(Math.Min(ts, t.Interval.TotalSeconds)) }).ToList() };
            return c;
        }
        // The file's targets are reloaded on SIGHUP unless the command line named the targets.
        var fromFile = configPath is not null && targets.Count == 0;
        config = Overrides(config);
        if (AgentConfig.HistoryProblem(config.History) is { } badHistory)
        {
            stderr.WriteLine($"reachprobe: --db: {badHistory}");
            return CommandLine.Usage;
        }
        var defaults = probeList ?? DefaultProbes;
        var every = interval is { } i ? TimeSpan.FromSeconds(i) : ProbeSpec.DefaultInterval;
        var asked = timeoutSeconds is { } t0 ? TimeSpan.FromSeconds(t0) : ProbeSpec.DefaultTimeout;
        var timeout = every < asked ? every : asked;
        // No target listed — no file, or a file with none (the package's, as installed) — watches the default gateway:
        // at start, and after a reload until the file lists targets.
        AgentConfig WithGateway(AgentConfig c)
        {
            if (c.Targets.Count > 0) return c;
            var gateway = AgentHost.DefaultGateway() ?? throw new ConfigException(["no target given and no default gateway to monitor: give --target IP or a --config file"]);
            return c with { Targets = [new TargetConfig { Name = gateway.ToString(), Ip = gateway, Probes = DefaultsFor(gateway, iface, defaults, stderr), Interval = every, Timeout = timeout }] };
        }
        if (targets.Count > config.MaxTargets)
        {
            stderr.WriteLine($"reachprobe: --target: {targets.Count} targets, more than maxTargets ({config.MaxTargets}); raise \"maxTargets\" in the configuration if this machine can carry them");
            return CommandLine.Usage;
        }
        if (targets.Count > 0)
        {
            var list = new List<TargetConfig>();
            foreach (var (ip, mac, hostName) in targets)
            {
                if (ip is not null && probeList?.Select(p => ProbeSpec.FamilyProblem(p, ip)).OfType<string>().FirstOrDefault() is { } wrong)
                {
                    stderr.WriteLine($"reachprobe: --probes: {wrong}");
                    return CommandLine.Usage;
                }
                list.Add(new TargetConfig { Name = ip is null ? hostName ?? mac! : AgentConfig.AddressText(ip), Ip = ip, Mac = mac, Host = hostName, Probes = ip is null ? defaults : DefaultsFor(ip, iface, defaults, stderr), ProbesGiven = probeList is not null, Interval = every, Timeout = timeout });
            }
            config = config with { Targets = list };
        }
        else
        {
            try
            {
                config = WithGateway(config);
            }
            catch (ConfigException e)
            {
                stderr.WriteLine($"reachprobe: {e.Problems[0]}");
                return CommandLine.Usage;
            }
        }

        // Without these the capture never opens: say so once and stop, rather than warn every few seconds forever with
        // every target unknown.
        if (CommandLine.LacksCaptureCapabilities("run", "capture and probe", "or use the systemd unit, which grants them (AmbientCapabilities)", stderr)) return CommandLine.Usage;
        // Host names resolve before anything starts: a name that does not is a mistake to say now, not an unknown target.
        var (resolved, unresolved) = await HostResolver.ResolveAllAsync(config.Targets, config.Resolver, CancellationToken.None).ConfigureAwait(false);
        if (unresolved.Count > 0)
        {
            foreach (var p in unresolved) stderr.WriteLine($"reachprobe: {p}");
            return CommandLine.Usage;
        }
        var captureInterface = AgentHost.CaptureInterface(config with { Targets = config.Targets.Select(t => resolved.TryGetValue(t.Name, out var a) ? t with { Ip = a[0] } : t).ToList() });
        // Several interfaces: each target on the one it names, else the one facing it, else the first.
        IReadOnlyList<string> interfaces = captureInterface is null ? [] : [captureInterface, .. config.Interfaces.Where(i => i != captureInterface)];
        config = AgentHost.Assign(config, interfaces);
        var probes = AgentHost.Probes(config, out var problems);
        if (captureInterface is null) problems.Add("$.interface: no interface faces the targets (and there is no default route, nor just one LAN interface): set \"interface\" (--interface NAME)");
        if (problems.Count > 0)
        {
            foreach (var p in problems) stderr.WriteLine($"reachprobe: {configPath ?? "command line"}: {p}");
            foreach (var p in probes) p.Probe.Dispose();
            return CommandLine.Usage;
        }
        // At a venue the list is a thousand names: the first few and how many more (the metrics list them all).
        const int Named = 8;
        var names = config.Targets.Take(Named).Select(t => t.Host is not null && resolved.TryGetValue(t.Name, out var at) ? $"{t.Who} at {string.Join(" and ", at.Select(a => a.ToString()))}"
            : t.Ip is null ? $"{t.Who}, its address learned from the wire" : t.Who);
        var more = config.Targets.Count > Named
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $" and {config.Targets.Count - Named:N0} more ({config.Targets.Count:N0} targets)") : "";
        var where = $"{string.Join(", ", names)}{more} on {(interfaces.Count > 0 ? string.Join(" and ", interfaces) : captureInterface)}";
        if (check)
        {
            // Nothing started: say that the configuration holds and what it would do, and no more.
            var probeSets = config.Targets.Select(t => string.Join(",", t.Probes.Select(p => p.Text)) + string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $" every {t.Interval.TotalSeconds:0.###} s (timeout {t.Timeout.TotalSeconds:0.###} s)")).Distinct().ToList();
            stderr.WriteLine($"reachprobe run: configuration OK: would monitor {where} with {string.Join("; ", probeSets)}; "
                + $"metrics on http://{config.Listen}/metrics; history {config.HistoryText}");
            foreach (var p in probes) p.Probe.Dispose();
            return CommandLine.Ok;
        }
        stderr.WriteLine($"reachprobe run: monitoring {where}; metrics on http://{config.Listen}/metrics; history {config.HistoryText}");
        if (NeighbourTable.Warning(config.Targets.Count, NeighbourTable.ReadLimit()) is { } neighbours) stderr.WriteLine($"reachprobe run: warning: {neighbours}");

        // SIGHUP re-reads the file; with targets from the command line (or no file) there is nothing to re-read, and the
        // signal must still not end the agent (systemd counts a death by SIGHUP as a clean stop: no restart).
        Func<AgentConfig>? reload = fromFile ? () => AgentHost.Assign(WithGateway(Overrides(AgentConfig.Load(configPath!))), interfaces) : null;
        using var host = AgentHost.Build(config, captureInterface!, probes, reload, hangups: hangups, resolved: resolved);
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
            // Each ARP probe holds a capture handle, and closing one takes milliseconds: close them together, and do
            // not hold the exit for them (the process ends anyway).
            Task.WaitAll(probes.Select(p => Task.Run(p.Probe.Dispose)).ToArray(), TimeSpan.FromMilliseconds(500));
        }
        return CommandLine.Ok;
    }

    /// <summary>--interface NAME, or NAME,NAME…: the capture interface, or several (each checked as the configuration's are).</summary>
    private static AgentConfig Interfaces(AgentConfig c, string text)
    {
        var names = text.Split(',', StringSplitOptions.TrimEntries);
        foreach (var n in names)
            if (!AgentConfig.IsInterfaceName(n)) throw new UsageException($"--interface '{Quote.Clip(text)}': '{Quote.Clip(n)}' is not an interface name (such as br0)");
        if (names.Distinct().Count() != names.Length) throw new UsageException($"--interface '{Quote.Clip(text)}': an interface is listed twice");
        if (names.Length > AgentConfig.MaxInterfaces) throw new UsageException($"--interface: more than {AgentConfig.MaxInterfaces} interfaces");
        return names.Length == 1 ? c with { Interface = names[0], Interfaces = [] } : c with { Interface = names[0], Interfaces = names };
    }

    /// <summary>The default probes, less ARP for a target on no attached subnet (ARP cannot reach it; said once).</summary>
    private static readonly IReadOnlyList<ProbeSpec> DefaultProbes = ProbeSpec.ParseList(ProbeSpec.Defaults, out _);

    private static IReadOnlyList<ProbeSpec> DefaultsFor(IPAddress target, string? iface, IReadOnlyList<ProbeSpec> defaults, TextWriter stderr)
    {
        // The defaults in the target's family (ndp for arp over IPv6); a list given with --probes is taken as it is.
        if (ReferenceEquals(defaults, DefaultProbes)) defaults = ProbeSpec.ForFamily(defaults, target);
        if (NetworkPath.Find(target, iface, out var problem) is not null) return defaults;
        stderr.WriteLine($"reachprobe: {AgentConfig.AddressText(target)}: no {(target.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "NDP" : "ARP")} probe: {problem}");
        return defaults.Where(p => p.Kind is not (ProbeKind.Arp or ProbeKind.Ndp)).ToList();
    }

}
