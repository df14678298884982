using Prometheus;
using ReachProbe.Probes;
using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Agent;

/// <summary>
/// The agent's Prometheus metrics, on a registry of their own (prometheus-net). Names follow Prometheus conventions:
/// the reachprobe_ prefix, base units, _total only on counters. Lean at a venue's scale (a thousand targets under 1 MB
/// a scrape): a target's state is one series, for its current state; healthy exchanges (answers, frames) are counted
/// once, in the probes' counters and the last frame's time, not again as wire evidence; round trips as a sum.
/// </summary>
public sealed class AgentMetrics
{
    private readonly Gauge _state, _probeSuccess, _degraded, _lastFrame, _captureUp, _linkUp, _info;
    private readonly Counter _roundTrips;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TargetState> _states = new();
    private readonly Histogram _probeDurationAll, _incidentDuration, _scheduleLag;
    private readonly Counter _missedRounds;
    private readonly Counter _probes, _evidence, _changes, _capture, _incidents, _conflicts, _historyDropped, _flooded;
    private readonly Gauge _historyUp, _historyPending, _filter, _view, _address, _discovered, _notKept;
    private readonly Counter _addressChanges;
    private readonly Counter _resultsDropped;
    // Every collector made, so that a target's series are forgotten from their labels, not from a hand-kept list.
    private readonly List<Collector> _all = [];

    /// <summary>The metric factory, remembering each collector it makes.</summary>
    private sealed class Made(IMetricFactory f, List<Collector> all)
    {
        private T Keep<T>(T c) where T : Collector
        {
            all.Add(c);
            return c;
        }

        public Gauge CreateGauge(string name, string help, params string[] labels) => Keep(f.CreateGauge(name, help, labels));
        public Counter CreateCounter(string name, string help, params string[] labels) => Keep(f.CreateCounter(name, help, labels));
        public Histogram CreateHistogram(string name, string help, HistogramConfiguration config) => Keep(f.CreateHistogram(name, help, config));
    }

    /// <summary>The targets' own label names, after ReachProbe's on <c>reachprobe_target_info</c>.</summary>
    public IReadOnlyList<string> LabelNames { get; }

    /// <summary>Creates the metrics on <paramref name="registry"/>; <paramref name="labelNames"/> are the targets' own labels.</summary>
    public AgentMetrics(CollectorRegistry registry, IReadOnlyList<string>? labelNames = null)
    {
        LabelNames = labelNames ?? [];
        Registry = registry;
        var f = new Made(Metrics.WithCustomRegistry(registry), _all);
        _state = f.CreateGauge("reachprobe_target_state", $"Current state of the target ({string.Join(", ", Names.States.Select(s => s.Name()))}): one series, value 1, for the state it is in.", "target", "state");
        _probeSuccess = f.CreateGauge("reachprobe_probe_success", "1 when the last attempt of the probe showed the target receives (answered or refused).", "target", "probe");
        _degraded = f.CreateGauge("reachprobe_target_degraded", "1 while an up target no longer answers a probe it answered before (ARP yes, ICMP no), 0 once it does again; a series only for probes that went unanswered so.", "target", "probe");
        // Per target the sum of round trips (divided by the answered attempts, already counted in reachprobe_probes_total,
        // it is the mean), and one histogram over all targets for the quantiles: 16 buckets for each target and probe made
        // a scrape of 1,000 targets 3.4 MB, and a summary's _count repeated the answered count (160 KB).
        _roundTrips = f.CreateCounter("reachprobe_probe_round_trip_seconds_total", "Sum of the round-trip times of the probe's attempts that showed the target receives (answered or refused): divided by the rate of reachprobe_probes_total{result=~\"answered|refused\"} it is the mean.", "target", "probe");
        _probeDurationAll = f.CreateHistogram("reachprobe_probe_duration_all_targets_seconds", "Round-trip time of answered probes over all targets, for quantiles.",
            new HistogramConfiguration { LabelNames = ["probe"], Buckets = Histogram.ExponentialBuckets(0.0001, 2, 16) });
        _probes = f.CreateCounter("reachprobe_probes_total", "Probe attempts by result: answered, refused, timeout, unreachable, error.", "target", "probe", "result");
        _evidence = f.CreateCounter("reachprobe_wire_evidence_total", "Evidence seen on the wire by signature: requests unanswered, answers ignored, context (gratuitous ARP, silence, conflicts). Answers and frames from the target are in reachprobe_probes_total and reachprobe_target_last_frame_timestamp_seconds.", "target", "signature");
        _lastFrame = f.CreateGauge("reachprobe_target_last_frame_timestamp_seconds", "Unix time of the last frame seen from the target's MAC.", "target");
        _changes = f.CreateCounter("reachprobe_target_state_changes_total", "State changes, by the state entered.", "target", "state");
        _capture = f.CreateCounter("reachprobe_capture_packets_total", "Capture counters: received and dropped (libpcap, after the BPF filter), interface_dropped (the interface), handoff_dropped (the queue to the analysis was full).", "interface", "result");
        _captureUp = f.CreateGauge("reachprobe_capture_up", "1 while the capture on the interface works.", "interface");
        _linkUp = f.CreateGauge("reachprobe_link_up", "1 while the monitor's capture interface has carrier.", "interface");
        _incidents = f.CreateCounter("reachprobe_incidents_total", "Deaf, down and unresponsive incidents that ended, by the firmware at the time.", "target", "state", "firmware");
        _incidentDuration = f.CreateHistogram("reachprobe_incident_duration_seconds", "Duration of ended incidents, by the firmware at the time.",
            new HistogramConfiguration { LabelNames = ["target", "state", "firmware"], Buckets = [10, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400] });
        _conflicts = f.CreateCounter("reachprobe_target_mac_conflicts_total", "Frames in which another MAC claimed the target's address (a duplicate address or a spoofer); they prove nothing.", "target", "mac");
        _flooded = f.CreateCounter("reachprobe_target_flooded_evidence_total", "Wire evidence counted but not weighed because it came as a flood (far above any host's rate), by signature.", "target", "signature");
        _filter = f.CreateGauge("reachprobe_capture_filter_instructions", "The capture filter in use: its kind (hosts, subnets or all_ip: narrower filters would exceed the kernel's 4096 BPF instructions) and its compiled length (-1 if unknown).", "interface", "kind");
        _scheduleLag = f.CreateHistogram("reachprobe_probe_schedule_lag_seconds", "How late each probe attempt started against its schedule.",
            new HistogramConfiguration { Buckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
        _missedRounds = f.CreateCounter("reachprobe_probe_missed_rounds_total", "Probe rounds the scheduler skipped (not queued) because it was late.");
        _view = f.CreateGauge("reachprobe_capture_view", "What the capture sees of the segment: 1 for the current view (full: other hosts' unicast too, as inline or on a mirror port; switched: only its own traffic and broadcasts), 0 for the other.", "interface", "view");
        _historyUp = f.CreateGauge("reachprobe_history_up", "1 while the incident history takes writes, 0 while its writes fail (they are kept and retried).");
        _historyPending = f.CreateGauge("reachprobe_history_writes_pending", "History writes kept while the database fails, waiting to be written.");
        _historyDropped = f.CreateCounter("reachprobe_history_writes_dropped_total", "History writes lost because the queue of kept writes was full.");
        _resultsDropped = f.CreateCounter("reachprobe_probe_results_dropped_total", $"Probe results lost because the analysis loop's queue ({ProbeEvidence.QueueCapacity}) was full: they were never weighed.");
        _info = f.CreateGauge("reachprobe_target_info", "Target metadata and the labels given to it in the configuration; the value is always 1.",
            ["target", "ip", "mac", "host_type", "firmware", .. LabelNames]);
        _address = f.CreateGauge("reachprobe_target_address", "Each address the target is watched at (value 1), one per family: given, or learned and followed for a target given by its MAC or host name.", "target", "address", "family");
        _discovered = f.CreateGauge("reachprobe_discovered_devices", "Devices the agent's discovery has heard on the interface, by kind (playstation, xbox, nintendo, printer, tv, router, unknown).", "interface", "kind");
        _notKept = f.CreateGauge("reachprobe_discovered_devices_not_kept", "Devices the agent's discovery heard but did not keep because it already keeps 4,096 (a flood of forged announcements?); counted up to 65,536.", "interface");
        _addressChanges = f.CreateCounter("reachprobe_target_address_changes_total", "Times a target given by its MAC moved to another address (a new DHCP lease), its probes following it.", "target");
        // Its first label is not "target": forgetting a target never touches it.
        f.CreateGauge("reachprobe_build_info", "The agent's build: its version, the commit it was built from, its runtime; the value is always 1.",
            "version", "commit", "runtime").WithLabels(BuildInfo.Version, BuildInfo.Commit, BuildInfo.Runtime).Set(1);
    }

    /// <summary>Brings a target's conflict count for <paramref name="mac"/> up to <paramref name="frames"/>.</summary>
    public void Conflicts(string target, string mac, long frames) => _conflicts.WithLabels(target, mac).IncTo(frames);

    /// <summary>
    /// The target is watched at <paramref name="address"/> now, beside its address in the other family if any; the
    /// address it left (<paramref name="from"/>) loses its series.
    /// </summary>
    public void Address(string target, string address, string? from = null)
    {
        if (from is not null && from != address) _address.RemoveLabelled(target, from, Family(from));
        _address.WithLabels(target, address, Family(address)).Set(1);
    }

    private static string Family(string address) => address.Contains(':', StringComparison.Ordinal) ? "ipv6" : "ipv4";

    /// <summary>The devices discovery has heard on <paramref name="iface"/>, by kind (every kind named, 0 when none).</summary>
    public void Discovered(string iface, IEnumerable<string> kinds, IReadOnlyDictionary<string, int> counts, int notKept)
    {
        foreach (var kind in kinds) _discovered.WithLabels(iface, kind).Set(counts.GetValueOrDefault(kind));
        _notKept.WithLabels(iface).Set(notKept);
    }

    /// <summary>Counts <paramref name="moves"/> moves of a target given by its MAC (0 makes the series, at 0).</summary>
    public void AddressChanges(string target, int moves) => _addressChanges.WithLabels(target).Inc(moves);

    /// <summary>Brings a target's flooded count of one signature up to <paramref name="count"/>.</summary>
    public void Flooded(string target, string signature, long count) => _flooded.WithLabels(target, signature).IncTo(count);

    /// <summary>The capture filter in use on an interface (one series: the previous kind is removed).</summary>
    public void CaptureFilter(string iface, string kind, int instructions)
    {
        foreach (var labels in _filter.GetAllLabelValues().Where(l => l[0] == iface && l[1] != kind).ToList()) _filter.RemoveLabelled(labels);
        _filter.WithLabels(iface, kind).Set(instructions);
    }

    /// <summary>The capture's view of the segment.</summary>
    public void View(string iface, CaptureView view)
    {
        foreach (var v in Enum.GetValues<CaptureView>()) _view.WithLabels(iface, v.ToString().ToLowerInvariant()).Set(v == view ? 1 : 0);
    }

    /// <summary>The history's health.</summary>
    public void History(bool up, int pending)
    {
        _historyUp.Set(up ? 1 : 0);
        _historyPending.Set(pending);
    }

    /// <summary>Counts a history write lost to a full queue.</summary>
    public void HistoryDropped() => _historyDropped.Inc();

    /// <summary>Every metric the agent exports (README's table is checked against it).</summary>
    public IReadOnlyList<Collector> Collectors => _all;

    /// <summary>Counts a probe result lost to a full queue.</summary>
    public void ProbeResultDropped() => _resultsDropped.Inc();

    /// <summary>Removes every series of a target (removed by a reload): of every metric whose first label is the target.</summary>
    public void Forget(string target)
    {
        _states.TryRemove(target, out _);
        foreach (var c in _all.Where(c => c.LabelNames is ["target", ..]))
        {
            switch (c)
            {
                case Gauge g: Remove(g.GetAllLabelValues(), target, v => g.RemoveLabelled(v)); break;
                case Counter k: Remove(k.GetAllLabelValues(), target, v => k.RemoveLabelled(v)); break;
                case Histogram h: Remove(h.GetAllLabelValues(), target, v => h.RemoveLabelled(v)); break;
                default: throw new InvalidOperationException($"{c.Name}: a per-target metric of a kind Forget does not know");
            }
        }
    }

    private static void Remove(IEnumerable<string[]> series, string target, Action<string[]> remove)
    {
        foreach (var labels in series.Where(l => l[0] == target).ToList()) remove(labels);
    }

    /// <summary>The registry (for the /metrics endpoint and tests).</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Sets the target's state series: the one for <paramref name="state"/>, the previous state's removed.</summary>
    public void SetState(string target, TargetState state)
    {
        if (_states.TryGetValue(target, out var previous) && previous != state) _state.RemoveLabelled(target, previous.Name());
        _states[target] = state;
        _state.WithLabels(target, state.Name()).Set(1);
    }

    /// <summary>Counts an ended incident.</summary>
    public void IncidentEnded(string target, string state, string firmware, TimeSpan duration)
    {
        _incidents.WithLabels(target, state, firmware).Inc();
        _incidentDuration.WithLabels(target, state, firmware).Observe(duration.TotalSeconds);
    }

    /// <summary>Counts a state change.</summary>
    public void StateChanged(string target, TargetState state) => _changes.WithLabels(target, state.Name()).Inc();

    /// <summary>An up target stopped answering <paramref name="probe"/> (1), or answers it again (0).</summary>
    public void Degraded(string target, string probe, bool degraded) => _degraded.WithLabels(target, probe).Set(degraded ? 1 : 0);

    /// <summary>Records one probe attempt.</summary>
    /// <param name="target">The target.</param>
    /// <param name="r">The result.</param>
    /// <param name="viaResolver">The probe asked another server (a <c>dns:NAME</c> probe): a failure is the resolver's,
    /// counted as <c>result="resolver_down"</c>.</param>

    public void Probe(string target, ProbeResult r, bool viaResolver = false)
    {
        _scheduleLag.Observe(r.ScheduleLag.TotalSeconds);
        if (r.MissedRounds > 0) _missedRounds.Inc(r.MissedRounds);
        var result = viaResolver && r.Status is ProbeStatus.Timeout or ProbeStatus.Unreachable ? "resolver_down" : r.Status.ToString().ToLowerInvariant();
        _probes.WithLabels(target, r.Probe, result).Inc();
        _probeSuccess.WithLabels(target, r.Probe).Set(r.ProvesReceipt ? 1 : 0);
        if (!r.ProvesReceipt) return;
        _roundTrips.WithLabels(target, r.Probe).Inc(r.Duration.TotalSeconds);
        _probeDurationAll.WithLabels(r.Probe).Observe(r.Duration.TotalSeconds);
    }

    /// <summary>Counts wire evidence (not proof of receipt or plain transmission: see <see cref="IsCounted"/>).</summary>
    public void Evidence(string target, EvidenceKind kind)
    {
        if (IsCounted(kind)) _evidence.WithLabels(target, kind.Info().Name).Inc();
    }

    /// <summary>
    /// Whether <c>reachprobe_wire_evidence_total</c> counts this kind: wire signatures, except the answers and frames
    /// of a healthy exchange — at a thousand targets they were a third of the scrape, and they repeat what the probes'
    /// counters and the last frame's time say.
    /// </summary>
    public static bool IsCounted(EvidenceKind kind) =>
        kind.Info() is { IsWireSignature: true } info && info.Category is not (EvidenceCategory.Proof or EvidenceCategory.Transmission);

    /// <summary>Sets the time of the target's last frame.</summary>
    public void LastFrame(string target, long utcTicks) =>
        _lastFrame.WithLabels(target).Set((utcTicks - DateTime.UnixEpoch.Ticks) / (double)TimeSpan.TicksPerSecond);

    /// <summary>Sets a capture counter to its current absolute value.</summary>
    public void CaptureCounter(string iface, string result, long value) => _capture.WithLabels(iface, result).IncTo(value);

    /// <summary>Sets capture and link health.</summary>
    public void Health(string iface, bool captureUp, bool linkUp)
    {
        _captureUp.WithLabels(iface).Set(captureUp ? 1 : 0);
        _linkUp.WithLabels(iface).Set(linkUp ? 1 : 0);
    }

    /// <summary>The label values of <c>reachprobe_target_info</c> after <c>target</c>: ip, mac, host type, firmware, then
    /// the target's labels in <see cref="LabelNames"/>' order ("" where it has none).</summary>
    public string[] InfoValues(string ip, string? mac, string? hostType, string? firmware, IReadOnlyDictionary<string, string> labels) =>
        [ip, mac ?? "", hostType ?? "", firmware ?? "", .. LabelNames.Select(n => labels.TryGetValue(n, out var v) ? v : "")];

    /// <summary>Publishes target metadata (<see cref="InfoValues"/>), replacing the previous series.</summary>
    public void Info(string target, string[] values, string[]? previous)
    {
        if (previous is not null) _info.RemoveLabelled([target, .. previous]);
        _info.WithLabels([target, .. values]).Set(1);
    }
}
