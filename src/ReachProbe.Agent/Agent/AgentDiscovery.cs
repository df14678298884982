using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ReachProbe.Discovery;
using ReachProbe.Wire;

namespace ReachProbe.Agent;

/// <summary>
/// The agent's own discovery (<c>"discover"</c> in the configuration): a capture of its own on the agent's interface
/// feeds a <see cref="DeviceCatalog"/> all the time, a PlayStation discovery (DDP) search goes out every
/// <see cref="DiscoverConfig.Interval"/>, and — with <c>watch</c> — each newly heard device of the configured kinds
/// becomes a target by its MAC (labelled discovered="true", the default probes), at most
/// <see cref="DiscoverConfig.MaxTargets"/> of them. A device that vanishes is watched like any target: it becomes down,
/// it is not dropped. Nothing it learns changes a configured target.
/// </summary>
public sealed class AgentDiscovery(AgentConfig config, string iface, ConfigReloader reloader, AgentMetrics metrics, ILogger<AgentDiscovery> log, TimeProvider time)
    : BackgroundService
{
    private readonly DiscoverConfig _settings = config.Discover ?? new DiscoverConfig();
    private readonly HashSet<ulong> _offered = [];
    private bool _capped;

    /// <summary>The catalog (read on the service's thread only; tests read it once the service has stopped).</summary>
    public DeviceCatalog Catalog { get; } = new(OuiRegistry.Load(), AgentHost.DefaultGateway() is { AddressFamily: System.Net.Sockets.AddressFamily.InterNetwork } g ? Addresses.ToUInt(g) : 0,
        ownMac: SysNet.Mac(iface) ?? 0);

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        log.DiscoveryStarted(iface, Verdict.VerdictWords.Duration(_settings.Interval), _settings.Watch ? string.Join(", ", _settings.Kinds) : "nothing (watch is off)");
        var backoff = new Resilience.Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        LiveCapture? capture = null;
        var nextSearch = time.GetUtcNow();
        var nextPublish = DateTimeOffset.MinValue;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var now = time.GetUtcNow();
                if (capture is null && backoff.Due(now))
                {
                    var c = new LiveCapture(iface, DeviceCatalog.CaptureFilter);
                    try
                    {
                        c.Open();
                        capture = c;
                        backoff.Succeeded();
                    }
                    catch (CaptureException e)
                    {
                        c.Dispose();
                        backoff.Failed(now);
                        log.DiscoveryFailed(iface, e.Message);
                    }
                }
                if (capture is not null)
                {
                    while (capture.TryRead(out var frame)) Catalog.Observe(capture.Link, frame.Data, frame.Time);
                    if (capture.Error is { } error)
                    {
                        log.DiscoveryFailed(iface, error);
                        capture.Dispose();
                        capture = null;
                        backoff.Failed(now);
                    }
                }
                if (now >= nextSearch)
                {
                    nextSearch = now + _settings.Interval;
                    if (LocalLink.Of(iface, out var problem) is { } link)
                    {
                        var search = new ActiveSearch(link);
                        search.SendDdpSearch();
                        if (search.Problem is { } p) log.DiscoveryFailed(iface, p);
                    }
                    else log.DiscoveryFailed(iface, problem!);
                }
                if (now >= nextPublish)
                {
                    nextPublish = now + TimeSpan.FromSeconds(1);
                    metrics.Discovered(iface, DiscoverConfig.AllKinds, Catalog.Devices.GroupBy(d => d.Kind).ToDictionary(g => g.Key, g => g.Count()), Catalog.NotKept);
                    if (_settings.Watch) await WatchNewAsync(stop).ConfigureAwait(false);
                }
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
        finally
        {
            capture?.Dispose();
        }
    }

    /// <summary>Devices of the wanted kinds not offered yet become targets, within the cap.</summary>
    private async Task WatchNewAsync(CancellationToken stop)
    {
        var fresh = Catalog.Devices.Where(d => _settings.Kinds.Contains(d.Kind) && !_offered.Contains(d.Mac)).ToList();
        if (fresh.Count == 0) return;
        var room = _settings.MaxTargets - reloader.Discovered.Count;
        if (room <= 0)
        {
            if (!_capped) log.DiscoveryCapped(reloader.Discovered.Count);
            _capped = true;
            return;
        }
        var targets = new List<TargetConfig>();
        foreach (var d in fresh.Take(room))
        {
            _offered.Add(d.Mac);
            var mac = Addresses.Mac(d.Mac);
            targets.Add(new TargetConfig
            {
                Name = d.Names.FirstOrDefault() ?? mac,
                Mac = mac,
                Ip = d.Addresses.Count > 0 ? Addresses.ToIPAddress(d.Addresses.Min) : null, // where it was heard; followed from there
                Firmware = d.Firmware,
                Probes = config.DefaultProbes,
                Interval = config.DefaultInterval,
                Timeout = config.DefaultTimeout,
                Labels = new Dictionary<string, string> { [AgentConfig.DiscoveredLabel] = "true" },
            });
        }
        foreach (var t in await reloader.AddDiscoveredAsync(targets, stop).ConfigureAwait(false))
            log.DiscoveredWatching(t.Name == t.Mac ? t.Name : $"{t.Name} ({t.Mac})", fresh.First(d => Addresses.Mac(d.Mac) == t.Mac).Kind, t.Ip is null ? "" : $" at {t.Ip}");
    }
}
