using System.Net;
using Microsoft.Extensions.Logging;
using ReachProbe.Analysis;
using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Agent;

/// <summary>
/// The live agent's analysis, wired: the engine's <see cref="AnalysisLoop"/> fed by the live capture
/// (<see cref="CaptureMonitor"/>) and the probes (<see cref="ProbeEvidence"/>), observed by metrics, the log and the
/// history (<see cref="AgentObserver"/>). <see cref="AgentService"/> builds it with the real capture and clock; tests
/// build it with a replayed capture, scripted probe results and a fake clock.
/// </summary>
public sealed partial class AgentLoop : IDisposable
{
    private readonly HistoryRecorder _history;
    private readonly CaptureMonitor _capture;
    private readonly AgentObserver _observer;
    // Each target by the address it is at now (a target followed by its MAC is not here until its address is known).
    private readonly Dictionary<UInt128, TargetConfig> _configOf;
    // Targets with a MAC, by it: their address is followed.
    private readonly Dictionary<ulong, TargetConfig> _followed = [];
    // Each target's addresses now, by name and family — its IPv4 one and its IPv6 one (read by the probe scheduler's thread).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Name, bool V6), IPAddress> _addresses = new();

    private static bool V6(IPAddress ip) => ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;

    private static bool V6(UInt128 ip) => !Addresses.IsV4(ip);

    /// <summary>The target's addresses now, IPv4 first (none while not known).</summary>
    private IEnumerable<IPAddress> AddressesOf(string name)
    {
        if (_addresses.TryGetValue((name, false), out var v4)) yield return v4;
        if (_addresses.TryGetValue((name, true), out var v6)) yield return v6;
    }
    private readonly ILogger _log;
    private readonly AgentMetrics _metrics;
    private readonly System.Collections.Concurrent.ConcurrentQueue<AgentConfig> _reconfigure = new();
    private AgentConfig _config;

    private AgentLoop(AgentConfig config, AnalysisLoop loop, ProbeEvidence probes, CaptureMonitor capture, HistoryRecorder history, AgentObserver observer,
        Dictionary<UInt128, TargetConfig> configOf, AgentMetrics metrics, ILogger log)
    {
        _config = config;
        _metrics = metrics;
        Loop = loop;
        Probes = probes;
        _capture = capture;
        _history = history;
        _observer = observer;
        _configOf = configOf;
        _log = log;
        _started = loop.Time.GetUtcNow();
        loop.AddProducer(new Reconfiguration(this));
        loop.AddProducer(new IPv6Search(this));
        foreach (var (ip, t) in configOf) _addresses[(t.Name, V6(ip))] = Addresses.ToIPAddress(ip);
        loop.Pipeline.AddressMoved += OnMoved;
        foreach (var t in config.Targets) Start(t);
        // Probe results count for every target at the address it starts at — those placed at start too (a host name
        // resolved, a MAC in the kernel's neighbour table), not only once they first move.
        PublishAddresses();
    }

    /// <summary>
    /// A target whose address is not given: followed by its MAC (<see cref="StartFollowing"/>), or known by a host name
    /// that resolved at start (its probes are made there: the scheduler made none for it) or will (unknown until then).
    /// </summary>
    private void Start(TargetConfig t)
    {
        if (t.Mac is not null) StartFollowing(t);
        else if (t.Ip is not null) return;
        else if (AddressesOf(t.Name).ToList() is { Count: > 0 } ips)
        {
            foreach (var ip in ips)
            {
                _log.AddressLearned(t.Who, ip.ToString());
                lock (_moves) _moves.Add(t.At(ip));
            }
        }
        else
        {
            _observer.Pending(t);
            _log.NamePending(t.Who);
        }
    }

    /// <summary>
    /// The target named <paramref name="target"/> is at <paramref name="address"/> now (its host name resolved so): it
    /// moves there at the loop's next pass, as a target followed by its MAC does (from any thread).
    /// </summary>
    public void MoveTo(string target, IPAddress address) => _relocations.Enqueue((target, address));

    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Target, IPAddress To)> _relocations = new();

    private void Relocate(string name, IPAddress address, DateTimeOffset now)
    {
        if (_config.Targets.FirstOrDefault(t => t.Name == name) is not { } t) return; // removed by a reload since
        var to = Addresses.ToKey(address);
        if (_addresses.TryGetValue((name, V6(address)), out var at))
        {
            Loop.Pipeline.MoveTarget(Addresses.ToKey(at), to, now.UtcTicks); // OnMoved does the rest
            return;
        }
        if (Loop.Pipeline.Find(to) is { } holder)
        {
            _log.MoveRefused(t.Who, address.ToString(), _configOf.TryGetValue(holder.Identity.Ip, out var other) ? other.Who : address.ToString());
            return;
        }
        _configOf[to] = t;
        // One with a MAC too is followed from there (its MAC's later ARP moves it; from the same address, nothing).
        var host = t.Mac is not null && Addresses.TryParseMac(t.Mac, out var mac) ? Loop.Pipeline.Follow(mac, to)! : Loop.Pipeline.AddTarget(to, 0);
        Placed(t, 0, to, host);
    }

    /// <summary>
    /// A target followed by its MAC showed at a new address (raised on the loop's thread, with the target as it is now:
    /// its <see cref="TargetConfig.Ip"/> the new address): its probes are to follow it. Moves before anyone listened
    /// (an address learned as the agent started) are told to each new listener.
    /// </summary>
    public event Action<TargetConfig>? Moved
    {
        add
        {
            lock (_moves)
            {
                _moved += value;
                foreach (var t in _moves) value?.Invoke(t);
            }
        }
        remove
        {
            lock (_moves) _moved -= value;
        }
    }

    private Action<TargetConfig>? _moved;
    private readonly List<TargetConfig> _moves = [];

    /// <summary>
    /// The target as it is now: with the address it is at (a target followed by its MAC), or null when it is not watched
    /// or its address is not known yet. Read from any thread.
    /// </summary>
    public TargetConfig? Current(TargetConfig t) =>
        AddressesOf(t.Name).FirstOrDefault() is { } ip ? t with { Ip = ip } : t.Mac is null && t.Host is null && t.Ip is not null ? t : null;

    /// <summary>The target at each address it is watched at now, IPv4 first (none while not known). Read from any thread.</summary>
    public IReadOnlyList<TargetConfig> Everywhere(TargetConfig t) => [.. AddressesOf(t.Name).Select(ip => ip.Equals(t.Ip) ? t : t.At(ip))];

    /// <summary>A target with a MAC is followed wherever its address goes; one with no address yet is unknown until its MAC shows.</summary>
    private void StartFollowing(TargetConfig t)
    {
        if (t.Mac is null || !Addresses.TryParseMac(t.Mac, out var mac)) return;
        _followed[mac] = t;
        var at = AddressesOf(t.Name).ToList();
        Loop.Pipeline.Follow(mac, 0);
        foreach (var ip in at) Loop.Pipeline.Follow(mac, Addresses.ToKey(ip));
        _metrics.AddressChanges(t.Name, 0);
        if (at.Count == 0)
        {
            _observer.Pending(t);
            _log.AddressPending(t.Who);
        }
        foreach (var ip in at.Where(ip => !ip.Equals(t.Ip)))
        {
            // Where the kernel last saw it: its probes start there (the scheduler made none for it).
            _log.AddressLearned(t.Who, ip.ToString());
            lock (_moves) _moves.Add(t.At(ip));
        }
    }

    private void OnMoved(AddressMove move)
    {
        // A target at an address moves from it; a followed MAC's first address comes from its MAC.
        var t = move.From != 0 && _configOf.TryGetValue(move.From, out var was) ? was : _followed.GetValueOrDefault(move.Mac);
        if (t is null) return;
        var to = Addresses.Ip(move.To);
        if (move.Holder is { } holder)
        {
            _log.MoveRefused(t.Who, to, _configOf.TryGetValue(holder.Identity.Ip, out var other) ? other.Who : to);
            return;
        }
        Placed(t, move.From, move.To, move.Host!);
    }

    /// <summary>The target is at <paramref name="to"/> now, from <paramref name="from"/> (0: its first address): the agent's books, the metrics, the log, its probes.</summary>
    private void Placed(TargetConfig t, UInt128 from, UInt128 to, HostMonitor host)
    {
        if (from != 0) _configOf.Remove(from);
        _configOf[to] = t;
        var address = Addresses.ToIPAddress(to);
        _addresses[(t.Name, V6(to))] = address;
        PublishAddresses();
        // A target by host name is let into the capture by its address: the filter follows it (one by MAC needs nothing new).
        if (t.Mac is null) _capture.Filter = Filter(Watched);
        _observer.Moved(host, from);
        if (from == 0) _log.AddressLearned(t.Who, address.ToString());
        else
        {
            _metrics.AddressChanges(t.Name, 1);
            _log.AddressChanged((t.Host ?? t.Mac) is { } id && id != t.Name ? $"{t.Name} ({id})" : t.Name, Addresses.Ip(from), address.ToString());
        }
        var now = t.At(address);
        lock (_moves)
        {
            _moves.RemoveAll(m => m.Name == t.Name && V6(m.Ip!) == V6(to));
            _moves.Add(now);
            _moved?.Invoke(now);
        }
    }

    /// <summary>Probe results are taken for each target at the address it is at now.</summary>
    private void PublishAddresses() => Probes.SetTargets(_addresses.GroupBy(kv => kv.Key.Name)
        .ToDictionary(g => g.Key, g => g.OrderBy(kv => kv.Key.V6).Select(kv => Addresses.ToKey(kv.Value)).ToArray()));

    /// <summary>The targets, each at every address it is watched at now (as given for one whose address is not known yet).</summary>
    private IEnumerable<TargetConfig> Watched => _config.Targets.SelectMany(t => Everywhere(t) is { Count: > 0 } all ? all : [t]);

    /// <summary>The targets being watched.</summary>
    public IReadOnlyList<TargetConfig> Targets => _config.Targets;

    /// <summary>
    /// Takes a new configuration (from any thread); the loop applies it at its next pass: removed targets are dropped
    /// (an open incident is closed as cut short), added ones start unknown, the others keep their state. Thresholds
    /// and the other settings stay as they were.
    /// </summary>
    public void Reconfigure(AgentConfig next) => _reconfigure.Enqueue(next);

    // Not evidence: a new configuration, applied on the loop's thread between passes (it adds and removes targets).
    private sealed class Reconfiguration(AgentLoop agent) : IEvidenceProducer
    {
        public void Poll(IEvidenceIntake intake, DateTimeOffset now, bool tick)
        {
            while (agent._reconfigure.TryDequeue(out var next)) agent.Apply(next, now);
            while (agent._relocations.TryDequeue(out var move)) agent.Relocate(move.Target, move.To, now);
        }
    }

    /// <summary>
    /// Asks all IPv6 nodes on the capture's link to answer (an echo to ff02::1, <see cref="Discovery.AllNodesEcho"/>):
    /// set by the live agent; null in tests. Asked while a device watched by its MAC has no IPv6 address heard yet, at
    /// most every <see cref="IPv6SearchEvery"/> — from a switch port a quiet device's IPv6 traffic never shows, its answer does.
    /// </summary>
    public Func<bool>? SearchIPv6 { get; set; }

    /// <summary>How often the agent asks all IPv6 nodes while a device watched by its MAC has no IPv6 address.</summary>
    public static readonly TimeSpan IPv6SearchEvery = TimeSpan.FromSeconds(30);

    // Not evidence: the echo to all IPv6 nodes, sent from the loop's thread (it reads which MACs lack an address).
    private sealed class IPv6Search(AgentLoop agent) : IEvidenceProducer
    {
        private DateTimeOffset _next = DateTimeOffset.MinValue;

        public void Poll(IEvidenceIntake intake, DateTimeOffset now, bool tick)
        {
            if (!tick || now < _next || agent.SearchIPv6 is not { } search) return;
            // Which MACs lack an address is looked at once a second, not at every tick.
            var first = _next == DateTimeOffset.MinValue;
            _next = now + TimeSpan.FromSeconds(1);
            if (!agent._followed.Keys.Any(mac => agent.Loop.Pipeline.AddressesOf(mac) is { V6: var v6 } && v6 == 0)) return;
            // The first a moment after start (the capture open), then every 30 s while one lacks it.
            if (first) return;
            _next = now + IPv6SearchEvery;
            search();
        }
    }

    private void Apply(AgentConfig next, DateTimeOffset now)
    {
        var change = ConfigChange.Between(_config, next);
        var pipeline = Loop.Pipeline;
        foreach (var t in change.Removed)
        {
            if (_observer.Device(t.Name) is { } device) _history.Forget(t.Name, device.Incidents, now);
            foreach (var v6 in new[] { false, true })
            {
                if (!_addresses.TryRemove((t.Name, v6), out var at)) continue;
                var ip = Addresses.ToKey(at);
                pipeline.RemoveTarget(ip);
                _configOf.Remove(ip);
            }
            if (t.Mac is not null && Addresses.TryParseMac(t.Mac, out var mac) && _followed.Remove(mac)) pipeline.Unfollow(mac);
            lock (_moves) _moves.RemoveAll(m => m.Name == t.Name);
            _history.Unwatch(t.Name, now);
            _observer.Forget(t.Name);
        }
        foreach (var t in change.Changed)
        {
            foreach (var at in AddressesOf(t.Name)) _configOf[Addresses.ToKey(at)] = t;
            if (t.Mac is not null && Addresses.TryParseMac(t.Mac, out var mac)) _followed[mac] = t;
            _history.Firmware(t.Name, t.Firmware, now);
        }
        _history.Watch(change.Added, now); // before their firmware: the firmware row is keyed on the identity this makes
        foreach (var t in change.Added)
        {
            _history.Firmware(t.Name, t.Firmware, now);
            if (t.Ip is { } start)
            {
                _configOf[Addresses.ToKey(start)] = t;
                _addresses[(t.Name, V6(start))] = start;
            }
            if (t.Ip is not null && t.Mac is null) pipeline.AddTarget(Addresses.ToKey(t.Ip), 0);
            else Start(t);
        }
        PublishAddresses();
        _config = next;
        _capture.Filter = Filter(Watched);
    }

    /// <summary>The loop.</summary>
    public AnalysisLoop Loop { get; }

    /// <summary>The live capture's health: open and seeing (at the last tick), or why it failed (read from any thread).</summary>
    public (bool Seeing, string? Failure) Capture => (_capture.Seeing, _capture.Failure);

    /// <summary>Where the probe jobs hand their results.</summary>
    public ProbeEvidence Probes { get; }

    /// <summary>The pipeline's host for a target address, or null.</summary>
    public HostMonitor? Host(IPAddress ip) => Loop.Pipeline.Find(Addresses.ToKey(ip));

    /// <summary>The pipeline's host for a target by name (wherever its address is now; its IPv4 one when it has both), or null.</summary>
    public HostMonitor? Host(string target) => AddressesOf(target).FirstOrDefault() is { } ip ? Host(ip) : null;

    /// <summary>The target's verdict over all its addresses (read on the loop's thread, or racily), or null while none is known.</summary>
    public DeviceVerdict? Device(string target) => _observer.Device(target);

    /// <summary>Wires the agent's analysis and opens the history (a start mark is written).</summary>
    /// <param name="config">Targets, thresholds, history path.</param>
    /// <param name="captureInterface">Interface for metrics and logs.</param>
    /// <param name="createCapture">Makes a capture with a BPF filter, to open (a new one after each failure or new filter).</param>
    /// <param name="ownCarrier">The monitor's own link carrier.</param>
    /// <param name="targetLinks">The carrier behind each target's MAC, when capturing on a bridge.</param>
    /// <param name="monitorAddress">The monitor's own IPv4 address, whose requests the probe results count.</param>
    /// <param name="monitorV6">Its own IPv6 addresses, likewise.</param>
    /// <param name="metrics">Metrics.</param>
    /// <param name="log">Log.</param>
    /// <param name="time">The clock.</param>
    /// <param name="monitorMac">The capture interface's own MAC (to tell other hosts' unicast from ours), when known.</param>
    /// <param name="probes">Where probe results are handed over, when the probe jobs start before the loop is wired; else a new one.</param>
    /// <param name="startAt">Where a target whose address is not given is when the agent starts: its host name resolved,
    /// or its MAC in the kernel's neighbour table; null to wait for its MAC on the wire or its name to resolve.</param>
    public static AgentLoop Create(AgentConfig config, string captureInterface, Func<string, ILiveSource> createCapture, Func<bool> ownCarrier,
        ITargetLinks? targetLinks, uint? monitorAddress, AgentMetrics metrics, ILogger log, TimeProvider time, ProbeEvidence? probes = null, ulong? monitorMac = null,
        Func<TargetConfig, IReadOnlyList<IPAddress>>? startAt = null, UInt128[]? monitorV6 = null) =>
        Create(config, captureInterface, createCapture, ownCarrier, targetLinks, monitorAddress, metrics, log, time, probes, monitorMac, startAt, monitorV6, null);

    /// <summary>As the public one; with <paramref name="shared"/>, the loop writes that history (started by the caller, and
    /// stopped by it once every loop of the agent has ended) rather than one of its own.</summary>
    internal static AgentLoop Create(AgentConfig config, string captureInterface, Func<string, ILiveSource> createCapture, Func<bool> ownCarrier,
        ITargetLinks? targetLinks, uint? monitorAddress, AgentMetrics metrics, ILogger log, TimeProvider time, ProbeEvidence? probes, ulong? monitorMac,
        Func<TargetConfig, IReadOnlyList<IPAddress>>? startAt, UInt128[]? monitorV6, HistoryRecorder? shared)
    {
        var configOf = new Dictionary<UInt128, TargetConfig>();
        var targets = new Dictionary<UInt128, ulong>();
        // Targets with a MAC are followed: the pipeline makes their hosts (AgentLoop's constructor), where they are known
        // to be — given, or as the kernel last saw the MAC (unless another target has that address).
        foreach (var t in config.Targets.Where(t => t.Ip is not null))
        {
            var ip = Addresses.ToKey(t.Ip!);
            configOf[ip] = t;
            if (t.Mac is null) targets[ip] = 0;
        }
        foreach (var t in config.Targets.Where(t => t.Ip is null))
            foreach (var seen in startAt?.Invoke(t) ?? [])
                if (configOf.TryAdd(Addresses.ToKey(seen), t) && t.Mac is null)
                    targets[Addresses.ToKey(seen)] = 0;
        var history = shared ?? new HistoryRecorder(config.History, metrics, log, config.Agent);
        if (shared is null) history.Start(time.GetUtcNow());
        history.Watch(config.Targets, time.GetUtcNow());
        foreach (var t in config.Targets) history.Firmware(t.Name, t.Firmware, time.GetUtcNow());
        // Request tables sized for the target count: memory stays bounded whatever a flood sends at every target.
        var pipeline = new WirePipeline(config.Thresholds, time, targets, tableCapacity: Wire.Trackers.SignatureTracker.TableCapacityFor(targets.Count));
        if (monitorAddress is { } own) pipeline.Monitor = own;
        pipeline.Segment.MonitorV6 = monitorV6 ?? [];
        pipeline.View = new SegmentView(forced: config.View) { OwnMac = monitorMac ?? 0 };
        metrics.View(captureInterface, pipeline.View.View);
        log.ViewAtStart(captureInterface, pipeline.View.View.ToString().ToLowerInvariant(), config.View is not null
            ? "as configured"
            : "until its frames show otherwise; from a switched view a silent target is unresponsive before it is down");
        pipeline.View.Changed += (view, _) =>
        {
            metrics.View(captureInterface, view);
            log.ViewChanged(captureInterface, view.ToString().ToLowerInvariant());
        };

        var observer = new AgentObserver(configOf, metrics, history, log, time);
        probes ??= NewProbeEvidence(config, metrics, log, time);
        probes.ConsoleFound += observer.PublishInfo;
        pipeline.IcmpToMonitor += probes.OnIcmpToMonitor;
        // The capture lets in each target at every address it starts at (a host name with A and AAAA records: both).
        var starts = configOf.GroupBy(kv => kv.Value.Name).ToDictionary(g => g.Key, g => g.Select(kv => Addresses.ToIPAddress(kv.Key)).ToList());
        var capture = new CaptureMonitor(captureInterface, Filter(config.Targets.SelectMany(t => starts.TryGetValue(t.Name, out var at) ? at.Select(a => t with { Ip = a }) : [t])), createCapture, ownCarrier, targetLinks, metrics, log, config.Thresholds.MacChange);
        // Producers in this order: the capture (opened, its health ticked) before the probe results of the same pass.
        var loop = new AnalysisLoop(pipeline, time) { Source = capture }.AddObserver(observer).AddProducer(capture).AddProducer(probes);
        return new AgentLoop(config, loop, probes, capture, history, observer, configOf, metrics, log) { _ownsHistory = shared is null };
    }

    /// <summary>The capture filter for these targets: by host (and MAC), or by subnet or all IP when that is more than the kernel takes.</summary>
    private static CaptureFilter.Choice Filter(IEnumerable<TargetConfig> targets) => CaptureFilter.For(targets.Select(t => (t.Ip, t.Mac)));

    /// <summary>The probe-result intake for <paramref name="config"/>'s targets.</summary>
    public static ProbeEvidence NewProbeEvidence(AgentConfig config, AgentMetrics metrics, ILogger log, TimeProvider time) =>
        new(config.Targets.Where(t => t.Ip is not null).ToDictionary(t => t.Name, t => new[] { Addresses.ToKey(t.Ip!) }), metrics, log, time, config.Thresholds.NegativeEvidenceThreshold);

    /// <summary>Runs until <paramref name="stop"/>, waking for frames, probe results and ticks.</summary>
    public Task RunAsync(CancellationToken stop) => Loop.RunAsync(Probes.WaitToReadAsync, stop);

    private readonly DateTimeOffset _started;
    private bool _ownsHistory = true;

    /// <summary>Closes the capture, writes the history's stop mark and says how long it ran and how its targets stand.</summary>
    public void Dispose()
    {
        var states = _observer.Devices.GroupBy(d => d.State).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.Name()}");
        _log.Stopping(VerdictWords.Duration(Loop.Time.GetUtcNow() - _started), $"{_config.Targets.Count} target(s): {string.Join(", ", states)}");
        _capture.Dispose();
        if (_ownsHistory) _history.Stop(Loop.Time.GetUtcNow());
    }
}
