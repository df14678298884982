using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using ReachProbe.Probes;
using ReachProbe.Wire;

namespace ReachProbe.Agent;

/// <summary>Builds the live agent: Quartz probes, live capture, verdicts, and the /metrics endpoint, under systemd if present.</summary>
public static class AgentHost
{
    /// <summary>The default gateway of the main routing table (/proc/net/route), or null.</summary>
    public static IPAddress? DefaultGateway() => SysNet.DefaultRoutes().FirstOrDefault(r => r.Gateway is not null).Gateway;

    /// <summary>
    /// The interface to capture on: configured, else the one on the first target's subnet, else the default route's,
    /// else — targets known by their MAC alone name no subnet — the machine's one LAN interface (up, not loopback, with
    /// an IPv4 address), when it has just one.
    /// </summary>
    public static string? CaptureInterface(AgentConfig config)
    {
        if (config.Interface is not null) return config.Interface;
        if (config.Interfaces is [var listed, ..]) return listed;
        foreach (var t in config.Targets)
            if (t.Ip is not null && NetworkPath.Find(t.Ip, null, out _) is { } path) return path.Interface;
        if (SysNet.DefaultRoutes() is [var first, ..]) return first.Interface;
        try
        {
            var lans = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up
                    && n.NetworkInterfaceType != System.Net.NetworkInformation.NetworkInterfaceType.Loopback
                    && n.GetIPProperties().UnicastAddresses.Any(a => a.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork))
                .Select(n => n.Name).ToList();
            return lans is [var only] ? only : null;
        }
        catch (System.Net.NetworkInformation.NetworkInformationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Every target of an agent on several interfaces with the interface it is watched on: the one it names, else the
    /// first of <paramref name="interfaces"/> whose subnet holds its address, else the first (a target known by its MAC or
    /// host name alone: name its interface to watch it elsewhere). With one interface, the configuration as it is.
    /// </summary>
    public static AgentConfig Assign(AgentConfig config, IReadOnlyList<string> interfaces)
    {
        if (interfaces.Count < 2) return config;
        string Of(TargetConfig t) => t.Interface
            ?? (t.Ip is not null && NetworkPath.Find(t.Ip, null, out _) is { } path && interfaces.Contains(path.Interface) ? path.Interface : interfaces[0]);
        return config with { Targets = config.Targets.Select(t => t.Interface is null ? t with { Interface = Of(t) } : t).ToList() };
    }

    /// <summary>
    /// Creates every probe of the configuration. Problems (an ARP probe for a target on no attached subnet, no resolver)
    /// are returned with the target's path so the agent refuses to start with all of them listed. A target followed by
    /// its MAC whose address is not known yet has none: its probes are made once its address is (<see cref="ConfigReloader.Follow"/>).
    /// </summary>
    public static List<ScheduledProbe> Probes(AgentConfig config, out List<string> problems)
    {
        problems = [];
        var list = new List<ScheduledProbe>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < config.Targets.Count; i++)
        {
            var t = config.Targets[i];
            if (t.Ip is null) continue;
            var env = new ProbeEnvironment
            {
                Interface = t.Interface ?? config.Interface,
                DnsServer = config.Resolver,
                ExpectedMac = t.Mac is not null && Addresses.TryParseMac(t.Mac, out var mac) ? Addresses.ToPhysicalAddress(mac) : null,
            };
            foreach (var spec in t.Probes)
            {
                var probe = spec.Create(t.Ip, env, out var problem);
                if (probe is null) problems.Add($"$.targets[{i}].probes: {spec.Text}: {problem}");
                // A device at two addresses has each probe once per family ("icmp", "icmp6"); one that asks a resolver
                // whatever the device's address ("dns:NAME") is the same probe from either: it is made once.
                else if (keys.Add($"{t.Name}/{probe.Name}")) list.Add(ScheduledProbe.Of(t.Name, spec, probe, t.Ip, t.Interval, t.Timeout));
                else probe.Dispose();
            }
        }
        return list;
    }

    /// <summary>Builds the host. The caller runs it.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="captureInterface">Where to capture.</param>
    /// <param name="probes">The probes of <paramref name="config"/> (see <see cref="Probes"/>).</param>
    /// <param name="reload">Reads the configuration again (on SIGHUP); null when there is no file to read.</param>
    /// <param name="args">Host arguments.</param>
    /// <param name="hangups">SIGHUP as caught since the command started; null: SIGHUP reloads once the host has started
    /// when <paramref name="reload"/> is given, and is left to the runtime (it ends the process) otherwise.</param>
    /// <param name="resolved">Where each target known by a host name starts: its name resolved at start (<see cref="HostResolver.ResolveAllAsync"/>).</param>
    public static IHost Build(AgentConfig config, string captureInterface, IReadOnlyList<ScheduledProbe> probes, Func<AgentConfig>? reload = null, string[]? args = null,
        Hangups? hangups = null, IReadOnlyDictionary<string, IPAddress[]>? resolved = null)
    {
        var builder = Host.CreateApplicationBuilder(args ?? []);
        builder.Services.AddSystemd();
        // SIGTERM: probes are cancelled, the loop ends, the history is flushed; nothing needs more than a moment.
        builder.Services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = TimeSpan.FromSeconds(5);
            o.ServicesStopConcurrently = true; // the scheduler's shutdown and the analysis loop's end need not wait for each other
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddReachProbeConsole(config.LogFormat);
        builder.Logging.SetMinimumLevel(Enum.Parse<LogLevel>(config.LogLevel));
        builder.Logging.AddFilter("Quartz", LogLevel.Warning);
        builder.Logging.AddFilter("Quartz.Core.QuartzScheduler", LogLevel.Error); // "shutting down with N jobs still executing": by design, they are cancelled
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        // A host that fails to start says why in one line of its own (reachprobe: cannot serve metrics on …).
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        var registry = Metrics.NewCustomRegistry();
        var metrics = new AgentMetrics(registry, config.LabelNames);
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(metrics);
        var time = TimeProvider.System; // the one clock of the live agent; tests build AgentLoop on a fake one
        builder.Services.AddSingleton(time);
        // First, so an address that cannot be bound stops the agent before it writes anything (history, capture).
        builder.Services.AddHostedService(sp => new MetricsEndpoint(config.Listen, registry, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton(sp => new AgentService(config, captureInterface, metrics,
            sp.GetRequiredService<ILogger<AgentService>>(), time, sp.GetRequiredService<IHostApplicationLifetime>(), resolved));
        builder.Services.AddSingleton<IProbeResultSink>(sp => sp.GetRequiredService<AgentService>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AgentService>());
        builder.Services.AddProbeScheduler(probes, time);
        if (config.Targets.Any(t => t.Host is not null) || reload is not null)
            builder.Services.AddHostedService(sp => new HostResolver(sp.GetRequiredService<AgentService>(), sp.GetRequiredService<ILogger<HostResolver>>(), time));
        if (reload is not null || hangups is not null || config.Discover is not null)
        {
            builder.Services.AddSingleton(sp => new ConfigReloader(reload, config, sp.GetRequiredService<AgentService>(), sp.GetRequiredService<ProbeRegistry>(),
                sp.GetRequiredService<Quartz.ISchedulerFactory>(), sp.GetRequiredService<ILogger<ConfigReloader>>(), time, hangups));
            builder.Services.AddHostedService(sp => sp.GetRequiredService<ConfigReloader>());
        }
        if (config.Discover is not null)
            builder.Services.AddHostedService(sp => new AgentDiscovery(config, captureInterface, sp.GetRequiredService<ConfigReloader>(), sp.GetRequiredService<AgentMetrics>(),
                sp.GetRequiredService<ILogger<AgentDiscovery>>(), time));
        return builder.Build();
    }
}

