using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ReachProbe.Probes;
using ReachProbe.Wire;

namespace ReachProbe.Agent;

/// <summary>
/// The hosted service: wires <see cref="AgentLoop"/> to the real capture, carrier, bridge and clock, and runs it. A
/// faulted loop stops the host (it is logged, never swallowed).
/// </summary>
public sealed partial class AgentService(AgentConfig config, string captureInterface, AgentMetrics metrics, ILogger<AgentService> log, TimeProvider time, IHostApplicationLifetime lifetime,
    IReadOnlyDictionary<string, IPAddress[]>? resolved = null)
    : BackgroundService, IProbeResultSink
{
    // Made with the service, so results of probe jobs that start before the loop is wired wait in its channel.
    private readonly ProbeEvidence _probes = AgentLoop.NewProbeEvidence(config, metrics, log, time);
    private readonly Lock _gate = new();
    private AgentLoop? _agent;
    private AgentConfig _config = config;

    /// <summary>Takes a reloaded configuration: applied by the loop at its next pass (or used when it starts).</summary>
    public void Reconfigure(AgentConfig next)
    {
        lock (_gate)
        {
            _config = next;
            _agent?.Reconfigure(next);
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
                if (_agent is not null) _agent.Moved += value;
            }
        }
        remove
        {
            lock (_gate)
            {
                _moved -= value;
                if (_agent is not null) _agent.Moved -= value;
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
            if (_agent is { } a) a.MoveTo(target, address);
            else _early.Add((target, address));
        }
    }

    private readonly List<(string, IPAddress)> _early = [];

    /// <summary>The target at each address it is watched at now, IPv4 first (see <see cref="AgentLoop.Everywhere"/>); as given before the agent runs.</summary>
    public IReadOnlyList<TargetConfig> Everywhere(TargetConfig t)
    {
        lock (_gate) return _agent is { } a ? a.Everywhere(t) : t.Ip is null ? [] : [t];
    }

    /// <summary>The target with the address it is at now (see <see cref="AgentLoop.Current"/>).</summary>
    public TargetConfig? Current(TargetConfig t)
    {
        lock (_gate) return _agent is { } a ? a.Current(t) : t.Ip is null ? null : t;
    }

    /// <inheritdoc/>
    public void Record(ScheduledProbe probe, ProbeResult result, DateTimeOffset at) => _probes.Record(probe, result, at);

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var bridge = new BridgePorts(captureInterface, moveAfter: _config.Thresholds.MacChange, time: time);
            AgentLoop agent;
            lock (_gate)
            {
                agent = _agent = AgentLoop.Create(_config, captureInterface, filter => new LiveCapture(captureInterface, filter), () => SysNet.Carrier(captureInterface) == true,
                    bridge.IsBridge ? bridge : null, MonitorAddress(captureInterface), metrics, log, time, _probes, SysNet.Mac(captureInterface),
                    // Where a target whose address is not given starts: its host name as resolved at start, else its MAC where the kernel last saw it.
                    t => t.Host is not null ? resolved?.GetValueOrDefault(t.Name) ?? [] : t.Mac is not null && NeighbourTable.IpOf(t.Mac) is { } seen ? new[] { seen } : [],
                    MonitorV6(captureInterface));
                if (_moved is not null) agent.Moved += _moved;
                foreach (var (target, address) in _early) agent.MoveTo(target, address);
                _early.Clear();
            }
            using var _ = agent;
            await agent.RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            log.LoopFailed(e);
            lifetime.StopApplication();
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
