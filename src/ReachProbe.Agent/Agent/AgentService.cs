using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ReachProbe.Discovery;
using ReachProbe.Probes;
using ReachProbe.Wire;

namespace ReachProbe.Agent;

/// <summary>
/// The hosted service: wires <see cref="AgentLoop"/> to the real capture, carrier, bridge and clock, and runs it — one
/// loop for each capture interface (<see cref="AgentConfig.Interfaces"/>), each with the targets watched on it, all
/// writing one history. A faulted loop stops the host (it is logged, never swallowed).
/// </summary>
public sealed partial class AgentService : BackgroundService, IProbeResultSink
{
    private readonly AgentMetrics _metrics;
    private readonly ILogger<AgentService> _log;
    private readonly TimeProvider _time;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly IReadOnlyDictionary<string, IPAddress[]>? _resolved;
    private readonly string[] _interfaces;
    // One intake a capture interface, made with the service, so results of probe jobs that start before the loops are
    // wired wait in its channel; a result reaches the intake of the interface its target is watched on.
    private readonly Dictionary<string, ProbeEvidence> _probes = [];
    private readonly Lock _gate = new();
    private readonly Dictionary<string, AgentLoop> _agents = [];
    private volatile Dictionary<string, string> _where = [];
    private AgentConfig _config;

    /// <summary>Creates the service for <paramref name="config"/>, capturing on <paramref name="captureInterface"/> and the configuration's other interfaces.</summary>
    public AgentService(AgentConfig config, string captureInterface, AgentMetrics metrics, ILogger<AgentService> log, TimeProvider time, IHostApplicationLifetime lifetime,
        IReadOnlyDictionary<string, IPAddress[]>? resolved = null)
    {
        _metrics = metrics;
        _log = log;
        _time = time;
        _lifetime = lifetime;
        _resolved = resolved;
        _interfaces = [captureInterface, .. config.Interfaces.Where(i => i != captureInterface)];
        _config = config;
        _where = Where(config);
        foreach (var iface in _interfaces) _probes[iface] = AgentLoop.NewProbeEvidence(Part(config, iface), metrics, log, time);
    }

    /// <summary>The interfaces captured on, the first being the one discovery and the single-interface agent use.</summary>
    public IReadOnlyList<string> Interfaces => _interfaces;

    /// <summary>The interface each target is watched on, by name.</summary>
    private Dictionary<string, string> Where(AgentConfig config) =>
        config.Targets.ToDictionary(t => t.Name, t => t.Interface is { } i && _interfaces.Contains(i) ? i : _interfaces[0]);

    /// <summary>The targets watched on <paramref name="iface"/>.</summary>
    private AgentConfig Part(AgentConfig config, string iface) =>
        _interfaces.Length == 1 ? config : config with { Targets = config.Targets.Where(t => (t.Interface is { } i && _interfaces.Contains(i) ? i : _interfaces[0]) == iface).ToList() };

    private AgentLoop? LoopOf(string target) => _agents.GetValueOrDefault(_where.GetValueOrDefault(target) ?? _interfaces[0]);

    /// <summary>Takes a reloaded configuration: applied by each loop, to the targets watched on its interface, at its next pass (or used when it starts).</summary>
    public void Reconfigure(AgentConfig next)
    {
        lock (_gate)
        {
            _config = next;
            _where = Where(next);
            foreach (var (iface, agent) in _agents) agent.Reconfigure(Part(next, iface));
        }
    }

    private Action<TargetConfig>? _moved;

    /// <summary>A target followed by its MAC moved (see <see cref="AgentLoop.Moved"/>; moves before a listener came are told to it).</summary>
    public event Action<TargetConfig>? Moved
    {
        add
        {
            lock (_gate)
            {
                _moved += value;
                foreach (var agent in _agents.Values) agent.Moved += value;
            }
        }
        remove
        {
            lock (_gate)
            {
                _moved -= value;
                foreach (var agent in _agents.Values) agent.Moved -= value;
            }
        }
    }

    /// <summary>The configuration in force (the last one reloaded).</summary>
    public AgentConfig Config
    {
        get
        {
            lock (_gate) return _config;
        }
    }

    /// <summary>A target's host name resolves to <paramref name="address"/> now: it moves there (see <see cref="AgentLoop.MoveTo"/>).</summary>
    public void MoveTo(string target, IPAddress address)
    {
        lock (_gate)
        {
            if (LoopOf(target) is { } a) a.MoveTo(target, address);
            else _early.Add((target, address));
        }
    }

    private readonly List<(string, IPAddress)> _early = [];

    /// <summary>The target at each address it is watched at now, IPv4 first (see <see cref="AgentLoop.Everywhere"/>); as given before the agent runs.</summary>
    public IReadOnlyList<TargetConfig> Everywhere(TargetConfig t)
    {
        lock (_gate) return LoopOf(t.Name) is { } a ? a.Everywhere(t) : t.Ip is null ? [] : [t];
    }

    /// <summary>The target with the address it is at now (see <see cref="AgentLoop.Current"/>).</summary>
    public TargetConfig? Current(TargetConfig t)
    {
        lock (_gate) return LoopOf(t.Name) is { } a ? a.Current(t) : t.Ip is null ? null : t;
    }

    /// <inheritdoc/>
    public void Record(ScheduledProbe probe, ProbeResult result, DateTimeOffset at) =>
        _probes[_where.GetValueOrDefault(probe.Target) ?? _interfaces[0]].Record(probe, result, at);

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        HistoryRecorder? shared = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        try
        {
            List<AgentLoop> loops = [];
            lock (_gate)
            {
                // Several loops write one history: it is started once here, and stopped once they have all ended.
                if (_interfaces.Length > 1)
                {
                    shared = new HistoryRecorder(_config.History, _metrics, _log, _config.Agent);
                    shared.Start(_time.GetUtcNow());
                }
                foreach (var iface in _interfaces)
                {
                    var bridge = new BridgePorts(iface, moveAfter: _config.Thresholds.MacChange, time: _time);
                    var agent = AgentLoop.Create(Part(_config, iface), iface, filter => new LiveCapture(iface, filter), () => SysNet.Carrier(iface) == true,
                        bridge.IsBridge ? bridge : null, MonitorAddress(iface), _metrics, _log, _time, _probes[iface], SysNet.Mac(iface),
                        // Where a target whose address is not given starts: its host name as resolved at start, else its MAC where the kernel last saw it.
                        t => t.Host is not null ? _resolved?.GetValueOrDefault(t.Name) ?? [] : t.Mac is not null && NeighbourTable.IpOf(t.Mac) is { } seen ? new[] { seen } : [],
                        MonitorV6(iface), shared);
                    var said = false;
                    agent.SearchIPv6 = () =>
                    {
                        var sent = AllNodesEcho.Send(iface, out var problem);
                        if (problem is not null && !said) _log.IPv6SearchFailed(problem);
                        said |= problem is not null;
                        return sent;
                    };
                    _agents[iface] = agent;
                    loops.Add(agent);
                    if (_moved is not null) agent.Moved += _moved;
                }
                foreach (var (target, address) in _early) LoopOf(target)?.MoveTo(target, address);
                _early.Clear();
            }
            try
            {
                // One loop failing ends them all (and the agent): the others are stopped, not left running blind.
                await Task.WhenAll(loops.Select(async l =>
                {
                    try
                    {
                        await l.RunAsync(stop.Token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        await stop.CancelAsync().ConfigureAwait(false);
                        throw;
                    }
                })).ConfigureAwait(false);
            }
            finally
            {
                foreach (var l in loops) l.Dispose();
                shared?.Stop(_time.GetUtcNow());
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _log.LoopFailed(e);
            _lifetime.StopApplication();
            throw;
        }
    }

    /// <summary>The capture interface's IPv6 addresses (the sources of our ICMPv6 and NDP probes).</summary>
    private static UInt128[] MonitorV6(string iface)
    {
        try
        {
            var nic = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == iface);
            return nic?.GetIPProperties().UnicastAddresses.Where(u => u.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
                .Select(u => Addresses.ToKey(u.Address)).Where(k => k != 0).ToArray() ?? [];
        }
        catch (System.Net.NetworkInformation.NetworkInformationException)
        {
            return [];
        }
    }

    /// <summary>The capture interface's IPv4 address (the source of our probes), or null.</summary>
    private static uint? MonitorAddress(string iface)
    {
        try
        {
            var nic = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == iface);
            var a = nic?.GetIPProperties().UnicastAddresses.FirstOrDefault(u => u.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
            return a is null ? null : Addresses.ToUInt(a.Address);
        }
        catch (System.Net.NetworkInformation.NetworkInformationException)
        {
            return null;
        }
    }
}
