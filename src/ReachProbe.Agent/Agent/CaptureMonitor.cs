using Microsoft.Extensions.Logging;
using ReachProbe.Analysis;
using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Agent;

/// <summary>The carrier of the link each target is behind, when the monitor can see it (a bridge's ports).</summary>
public interface ITargetLinks
{
    /// <summary>Reads what the links are now (once a tick, for every target), before <see cref="CarrierOf"/> is asked.</summary>
    void Refresh() { }

    /// <summary>Carrier of the link behind which <paramref name="mac"/> lives, as of the last <see cref="Refresh"/>: true, false, or null when unknown.</summary>
    bool? CarrierOf(ulong mac);

    /// <summary>Another link the MAC was seen behind while it is still the target's on its own (a cloned MAC), or null.</summary>
    string? ClonedOn(ulong mac) => null;

    /// <summary>The link the MAC is taken to be behind (its own), or null when unknown.</summary>
    string? LearnedPort(ulong mac) => null;
}

/// <summary>
/// The monitor's own health as evidence: keeps the live capture open (reopened with capped exponential backoff — an
/// infrastructure retry, never a probe retry), makes every target unknown while the capture is down or the monitor's
/// own link has no carrier (a blind monitor blames no one), turns the carrier of each target's bridge port into
/// <see cref="EvidenceKind.TargetLinkDown"/>/<see cref="EvidenceKind.TargetLinkUp"/>, and exports capture health. It is
/// also the loop's source: the live capture behind it comes and goes, the loop reads it through this.
/// </summary>
public sealed partial class CaptureMonitor(string iface, CaptureFilter.Choice filter, Func<string, ILiveSource> create, Func<bool> ownCarrier, ITargetLinks? targetLinks, AgentMetrics metrics, ILogger log,
    TimeSpan? cloneHold = null)
    : IEvidenceProducer, ICaptureSource
{
    // A target whose MAC was seen on another bridge port: when it was last seen there, and the port it was learned on.
    private readonly Dictionary<HostMonitor, (DateTimeOffset LastSeen, string? Port)> _clonedHosts = [];
    private readonly TimeSpan _cloneHold = cloneHold ?? TimeSpan.FromMinutes(5);
    private readonly HashSet<HostMonitor> _linkDown = [];
    private readonly HashSet<(ulong, string)> _cloned = [];
    private ILiveSource? _capture;
    private readonly Resilience.Backoff _backoff = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5));
    private bool _blind;
    private CaptureFilter.Choice _filter = filter;
    private bool _reopen;

    /// <summary>The capture's BPF filter; a new one reopens the capture at the next pass.</summary>
    public CaptureFilter.Choice Filter
    {
        get => _filter;
        set
        {
            if (value.Text == _filter.Text) return;
            _filter = value;
            _reopen = true;
        }
    }

    /// <summary>True while every target is unknown because the monitor cannot see.</summary>
    public bool Blind => _blind;

    /// <summary>True while a capture is open and the monitor's own link is up (read from any thread).</summary>
    public bool Seeing => Volatile.Read(ref _seeing);
    private bool _seeing;

    /// <summary>Why the capture last failed to open or broke, or null once it is open (read from any thread).</summary>
    public string? Failure => Volatile.Read(ref _failure);
    private string? _failure;

    /// <inheritdoc/>
    public string Name => iface;

    /// <inheritdoc/>
    public LinkKind Link => _capture?.Link ?? LinkKind.Ethernet;

    /// <inheritdoc/>
    public bool TryRead(out CapturedFrame frame)
    {
        if (_capture is { } c) return c.TryRead(out frame);
        frame = default;
        return false;
    }

    /// <inheritdoc/>
    /// <remarks>With no capture open, nothing comes until it is reopened (at a tick, which wakes the loop anyway).</remarks>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellation) =>
        _capture is { } c ? c.WaitToReadAsync(cancellation) : new ValueTask<bool>(Task.Delay(Timeout.Infinite, cancellation).ContinueWith(static _ => false, TaskScheduler.Default));

    /// <inheritdoc/>
    public void Poll(IEvidenceIntake loop, DateTimeOffset now, bool tick)
    {
        if (_reopen)
        {
            _reopen = false;
            if (_capture is not null)
            {
                Close();
                _backoff.Now();
            }
        }
        if (_capture is null && _backoff.Due(now)) TryOpen(loop, now);
        if (!tick)
        {
            // Answers held for the bridge's word are settled soon, not at the tick: the sooner the database is read after
            // a clone's frame, the less likely the console's own next frame has moved the MAC back (see WatchTargetLinks).
            if (targetLinks is not null && !_blind && now - _lastRead >= FastRead && loop.Hosts.Any(h => h.HasHeldProofs)) SettleHeld(loop, targetLinks, now);
            return;
        }
        var linkUp = ownCarrier();
        if (_capture is { Error: { } error })
        {
            Volatile.Write(ref _failure, error);
            log.CaptureFailed(iface, error);
            Close();
            _backoff.Failed(now);
            GoBlind(loop, now);
        }
        else if (_capture is not null && !linkUp) GoBlind(loop, now); // our own link is down: we cannot see, so we blame no one
        else if (_capture is not null && linkUp && _blind) See(loop, now);
        metrics.Health(iface, _capture is not null && !_blind, linkUp);
        Volatile.Write(ref _seeing, _capture is not null && !_blind);
        if (targetLinks is not null && !_blind) WatchTargetLinks(loop, targetLinks, now);
        else if (targetLinks is not null) foreach (var host in loop.Hosts) host.SettleHeldProofs(weigh: false); // a blind monitor weighs nothing
        if (_capture?.Statistics is { } s)
        {
            metrics.CaptureCounter(iface, "received", s.Received);
            metrics.CaptureCounter(iface, "dropped", s.Dropped);
            metrics.CaptureCounter(iface, "interface_dropped", s.InterfaceDropped);
        }
        if (_capture is not null) metrics.CaptureCounter(iface, "handoff_dropped", _capture.HandoffDropped);
    }

    private void TryOpen(IEvidenceIntake loop, DateTimeOffset now)
    {
        var c = create(_filter.Text);
        try
        {
            c.Open();
            _capture = c;
            _backoff.Succeeded();
            Volatile.Write(ref _failure, null);
            log.CaptureOpened(iface, _filter.Text.Length <= 200 ? _filter.Text : _filter.Text[..200] + "…", _filter.Kind, _filter.Instructions, CaptureFilter.KernelLimit);
            metrics.CaptureFilter(iface, _filter.Kind, _filter.Instructions);
            if (_blind) See(loop, now);
        }
        catch (CaptureException e)
        {
            c.Dispose();
            _backoff.Failed(now);
            Volatile.Write(ref _failure, e.Message);
            log.CaptureFailed(iface, e.Message);
            GoBlind(loop, now);
        }
    }

    private void GoBlind(IEvidenceIntake loop, DateTimeOffset now)
    {
        if (_blind) return;
        _blind = true;
        loop.AddToAll(new Evidence(EvidenceKind.MonitorBlind, now.UtcTicks));
    }

    private void See(IEvidenceIntake loop, DateTimeOffset now)
    {
        _blind = false;
        loop.AddToAll(new Evidence(EvidenceKind.MonitorSighted, now.UtcTicks));
    }

    /// <summary>The carrier of the bridge port each target is behind: its own link (field report signature 8).</summary>
    private void WatchTargetLinks(IEvidenceIntake loop, ITargetLinks links, DateTimeOffset now)
    {
        links.Refresh();
        _lastRead = now;
        foreach (var host in loop.Hosts)
        {
            host.HoldProofs = true; // weighed below, once the bridge was read (HostMonitor.HoldProofs)
            if (host.Identity.Mac != 0 && links.CarrierOf(host.Identity.Mac) is { } carrier)
            {
                WatchClone(loop, links, host, now);
                if (!carrier && _linkDown.Add(host)) loop.Add(host, new Evidence(EvidenceKind.TargetLinkDown, now.UtcTicks));
                else if (carrier && _linkDown.Remove(host)) loop.Add(host, new Evidence(EvidenceKind.TargetLinkUp, now.UtcTicks));
            }
            host.SettleHeldProofs(weigh: !_clonedHosts.ContainsKey(host));
        }
    }

    // How often, at most, the bridge is read between ticks to settle held answers: 50 reads a second of one small file.
    private static readonly TimeSpan FastRead = TimeSpan.FromMilliseconds(20);
    private DateTimeOffset _lastRead = DateTimeOffset.MinValue;

    /// <summary>Reads the bridge now and settles the answers that wait for it (held by <see cref="HostMonitor.HoldProofs"/>).</summary>
    private void SettleHeld(IEvidenceIntake loop, ITargetLinks links, DateTimeOffset now)
    {
        links.Refresh();
        _lastRead = now;
        foreach (var host in loop.Hosts)
        {
            if (!host.HasHeldProofs) continue;
            if (host.Identity.Mac != 0) WatchClone(loop, links, host, now);
            host.SettleHeldProofs(weigh: !_clonedHosts.ContainsKey(host));
        }
    }

    /// <summary>
    /// The bridge's forwarding database shows where a MAC last sent from; the agent samples it every tick. A target's MAC
    /// seen behind another port than its own is a clone (or the target being moved): from then on its answers cannot be
    /// told from the clone's (<see cref="EvidenceKind.MacCloned"/>), until the clone has not been seen for the hold (the
    /// MAC-change time), or the move rule takes the new port as its own.
    /// </summary>
    private void WatchClone(IEvidenceIntake loop, ITargetLinks links, HostMonitor host, DateTimeOffset now)
    {
        var mac = host.Identity.Mac;
        var learned = links.LearnedPort(mac);
        if (links.ClonedOn(mac) is { } other)
        {
            if (_cloned.Add((mac, other))) log.MacCloned(Addresses.Ip(host.Identity.Ip), Addresses.Mac(mac), other);
            host.CloneSighted(now.UtcTicks);
            if (!_clonedHosts.ContainsKey(host)) loop.Add(host, new Evidence(EvidenceKind.MacCloned, now.UtcTicks));
            _clonedHosts[host] = (now, learned);
        }
        else if (_clonedHosts.TryGetValue(host, out var c) && (now - c.LastSeen >= _cloneHold || learned != c.Port))
        {
            _clonedHosts.Remove(host);
            loop.Add(host, new Evidence(EvidenceKind.MacUncloned, now.UtcTicks));
        }
    }

    private void Close()
    {
        _capture?.Dispose();
        _capture = null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _capture?.Dispose();
        _capture = null;
    }
}
