namespace ReachProbe.Verdict;

/// <summary>
/// The verdict engine for one target: a pure state machine from timestamped <see cref="Evidence"/> to
/// <see cref="TargetState"/>. No I/O, no logging; the only clock is the injected <see cref="TimeProvider"/>,
/// which the live agent gives as the system clock and offline analysis as packet time.
/// </summary>
/// <remarks>
/// Rules, in the words of the field report:
/// <list type="bullet">
/// <item>Proof of receipt (an answer from the target) makes it up and ends any incident.</item>
/// <item><see cref="VerdictOptions.NegativeEvidenceThreshold"/> unanswered things with no proof between them make it
/// not-answering, from the first of them. Negative evidence older than the last proof is stale and ignored.</item>
/// <item>A not-answering target that transmitted since it stopped answering (a frame from its MAC, or a query, SYN or
/// ARP it repeated after the answer) is deaf; one that did not is down. A deaf target silent for
/// <see cref="VerdictOptions.SilenceWindow"/> becomes down; a down target that starts transmitting becomes deaf, and if that
/// happens within the silence window the incident is deaf from its start (it was deaf, just quiet at first).</item>
/// <item>The target's own link down makes it down at once; the monitor going blind makes it unknown and closes the incident.</item>
/// <item>A gratuitous ARP restarts the count (the interface re-initialised) but, being no answer, does not end the incident.</item>
/// <item>From a switched view (<see cref="Switched"/>) a target's unicast traffic is invisible, so not seeing it transmit
/// proves nothing: a not-answering target that has not transmitted is unresponsive, not down. Its first frame makes it
/// deaf; a silence (its own cadence overdue, judged by the silence tracker) makes it down. Either way the incident is
/// the unresponsive one, relabelled, from its start; an unresponsive target that answers again closes it as it is.</item>
/// </list>
/// </remarks>
public sealed class TargetVerdict
{
    private readonly VerdictOptions _options;
    private readonly TimeProvider _time;
    private readonly List<StateChange> _changes = [];
    private readonly List<Incident> _incidents = [];
    private readonly List<Evidence> _notes = [];
    private readonly int _maxRetained;

    private long _lastProof = long.MinValue;
    private long _lastFrame = long.MinValue;
    private long? _failingSince;
    private int _negatives;
    private Evidence? _lastNegative; // what a decision that only waited for time is taken on (Tick)
    private bool _transmittedWhileFailing;
    private bool _silent;
    private bool _linkDown;
    private bool _blind;
    private EvidenceCounts? _episode;
    private Incident? _open;

    /// <summary>Creates the state machine.</summary>
    /// <param name="options">Thresholds.</param>
    /// <param name="time">Clock for <see cref="StateChange.DecidedAt"/>.</param>
    /// <param name="maxRetained">How many state changes and incidents to keep in memory (oldest dropped first).</param>
    public TargetVerdict(VerdictOptions options, TimeProvider time, int maxRetained = 10_000)
    {
        _options = options;
        _time = time;
        _maxRetained = maxRetained;
    }

    /// <summary>The current state.</summary>
    public TargetState State { get; private set; } = TargetState.Unknown;

    /// <summary>Every state change, oldest first (up to the retention bound).</summary>
    public IReadOnlyList<StateChange> Changes => _changes;

    /// <summary>Every incident, oldest first; the last may be open.</summary>
    public IReadOnlyList<Incident> Incidents => _incidents;

    /// <summary>Notable events for a timeline: gratuitous ARP, silence, link and monitor changes (up to the retention bound).</summary>
    public IReadOnlyList<Evidence> Notes => _notes;

    /// <summary>
    /// True while the capture's view is switched (see the rules above). Set directly for the view at the start;
    /// <see cref="EvidenceKind.ViewSwitched"/> and <see cref="EvidenceKind.ViewFull"/> change it later.
    /// </summary>
    public bool Switched
    {
        get => _switched;
        set
        {
            _switched = value;
            _fullSince = value ? long.MaxValue : long.MinValue;
        }
    }

    private bool _switched;

    // Since when the view has been full (evidence time): MinValue when full from the start, MaxValue while switched.
    private long _fullSince = long.MinValue;

    /// <summary>True when a full view has watched since <paramref name="since"/>: a view that turned full later is no
    /// evidence about a silence that began before it.</summary>
    private bool FullSince(long since) => !_switched && _fullSince <= since;

    /// <summary>When the target's last frame was seen (UTC ticks), or null.</summary>
    public long? LastFrame => _lastFrame == long.MinValue ? null : _lastFrame;

    /// <summary>Evidence totals over the whole observation.</summary>
    public EvidenceCounts Totals { get; } = new();

    /// <summary>Raised on each state change (for metrics and logs).</summary>
    public event Action<StateChange>? StateChanged;

    /// <summary>Weighs one piece of evidence.</summary>
    public void Observe(in Evidence e)
    {
        Totals.Add(e);
        if (e.Kind.Info().Category is EvidenceCategory.Context or EvidenceCategory.Monitor) Retain(_notes, e);
        if (e.Kind == EvidenceKind.MonitorSighted) { _blind = false; return; }
        if (e.Kind == EvidenceKind.MonitorBlind) { GoBlind(e); return; }
        if (e.Kind == EvidenceKind.MacUncloned) { _cloned = false; return; }
        if (e.Kind == EvidenceKind.MacCloned) { Cloned(e); return; }
        if (e.Kind is EvidenceKind.ViewSwitched or EvidenceKind.ViewFull)
        {
            Switched = e.Kind == EvidenceKind.ViewSwitched;
            if (e.Kind == EvidenceKind.ViewFull) _fullSince = e.Time;
            if (!_blind) Reevaluate(e);
            return;
        }
        if (_blind) return;
        if (_cloned) { WhileCloned(e); return; }

        // Its own link (the bridge port it was learned on) has no carrier: an answer then is not its own — a clone on
        // another port answering before the agent noticed it, or a link back a moment before the agent read it (its
        // return, read within a tick, lets the next answer count).
        if (e.IsProof && _linkDown) return;
        if (e.IsProof) { OnProof(e); return; }
        if (e.IsNegative) { OnNegative(e); return; }
        switch (e.Kind)
        {
            case EvidenceKind.FrameFromTarget:
                if (e.Time > _lastFrame) _lastFrame = e.Time;
                if (_silent && State == TargetState.Down)
                {
                    // A host that was silent (down) transmits again: it is coming back. What went unanswered before
                    // says nothing about whether it now listens; only requests after this frame count.
                    RestartCount();
                    if (e.Time > _restartedAt) _restartedAt = e.Time;
                }
                _silent = false;
                if (_open is not null || (_failingSince is { } since && e.Time >= since)) CountsSink()?.Add(e);
                Reevaluate(e);
                break;
            case EvidenceKind.Silence:
                if (e.Time < _lastFrame) return; // a frame came after all
                _silent = true;
                Reevaluate(e);
                break;
            case EvidenceKind.AddressConflict or EvidenceKind.MacChanged or EvidenceKind.Flood or EvidenceKind.DuplicateReply:
                // Proves nothing, but an incident keeps it (and so does the history): it explains what was seen.
                CountsSink()?.Add(e);
                break;
            case EvidenceKind.GratuitousArp:
                CountsSink()?.Add(e);
                RestartCount();
                // Its interface came (back) up: requests sent before that and settled later say nothing about it now.
                if (e.Time > _restartedAt) _restartedAt = e.Time;
                break;
            case EvidenceKind.TargetLinkDown:
                _linkDown = true;
                if (_failingSince is null) { _failingSince = e.Time; _episode = new EvidenceCounts(); }
                if (State != TargetState.Down) Transition(TargetState.Down, e.Time, e.Kind);
                break;
            case EvidenceKind.TargetLinkUp:
                // The link came back: what went unanswered while it was down says nothing about deafness.
                _linkDown = false;
                RestartCount();
                if (e.Time > _restartedAt) _restartedAt = e.Time;
                break;
        }
    }

    private EvidenceCounts? CountsSink() => _open?.Evidence ?? _episode;

    private void OnProof(in Evidence e)
    {
        if (e.Time > _lastProof) _lastProof = e.Time;
        RestartCount();
        CloseIncident(e.Time, IncidentEnd.Recovered, e.Kind);
        if (State != TargetState.Up) Transition(TargetState.Up, e.Time, e.Kind);
    }

    /// <summary>
    /// Lets time pass (the pipeline calls it every 100 ms): a failing target held back only by
    /// <see cref="VerdictOptions.DownConfirmation"/> is decided when that is over, not at the next piece of evidence —
    /// up to half a probe interval sooner. What it decides, and from when, is the same.
    /// </summary>
    public void Tick()
    {
        if (_blind || _cloned || _linkDown || _lastNegative is not { } trigger) return;
        if (State is TargetState.Up or TargetState.Unknown && _failingSince is not null && _negatives >= _options.NegativeEvidenceThreshold) Reevaluate(trigger);
    }

    private void OnNegative(in Evidence e)
    {
        if (e.Time < _lastProof) return; // the target answered something later: stale
        if (e.Time < _restartedAt) return; // sent before its interface came back up: stale
        _lastNegative = e;
        _negatives++;
        if (_failingSince is null || e.Time < _failingSince) _failingSince = e.Time;
        _episode ??= new EvidenceCounts();
        CountsSink()!.Add(e);
        if (e.ShowsTransmission)
        {
            _transmittedWhileFailing = true;
            _silent = false;
        }
        Reevaluate(e);
    }

    private void Reevaluate(in Evidence trigger)
    {
        if (_linkDown) return; // already down, and only a proof or link-up changes that
        var failing = _failingSince is not null && _negatives >= _options.NegativeEvidenceThreshold;
        if (!failing)
        {
            // Sticky: a deaf target stays deaf until it answers, but one that then falls silent is down; so is an
            // unresponsive one, or one whose silence a full view has watched from its start (not a view that turned
            // full since: that is no evidence about a silence it did not see begin).
            if (State == TargetState.Deaf && _silent) Transition(TargetState.Down, _lastFrame, EvidenceKind.Silence);
            else if (State == TargetState.Unresponsive && (_silent || FullSince(_open?.Start ?? trigger.Time))) Transition(TargetState.Down, _open?.Start ?? trigger.Time, trigger.Kind);
            else if (State == TargetState.Unresponsive && _lastFrame > (_open?.Start ?? long.MaxValue) + _options.TransmitGrace.Ticks)
                Transition(TargetState.Deaf, _open!.Start, trigger.Kind);
            return;
        }
        var transmitting = _transmittedWhileFailing || _lastFrame > _failingSince!.Value + _options.TransmitGrace.Ticks;
        var next = transmitting && !_silent ? TargetState.Deaf
            : !FullSince(_failingSince!.Value) && !_silent ? TargetState.Unresponsive
            : TargetState.Down;
        if (next == State) return;
        // Unresponsive is entered only from a healthy (or unknown) state: a verdict already given stands until evidence changes it.
        if (next == TargetState.Unresponsive && State is TargetState.Deaf or TargetState.Down) return;
        // Not transmitting yet: give a deaf target time to show a frame before calling it down (or unresponsive).
        if (next is TargetState.Down or TargetState.Unresponsive && State is TargetState.Up or TargetState.Unknown
            && _time.GetUtcNow().UtcTicks - _failingSince!.Value < _options.DownConfirmation.Ticks) return;
        var at = State switch
        {
            TargetState.Deaf => Math.Max(_lastFrame, _failingSince!.Value), // went silent after its last frame
            TargetState.Down => trigger.Time,                               // started transmitting
            TargetState.Unresponsive => _open?.Start ?? _failingSince!.Value, // what it was since it stopped answering
            _ => _failingSince!.Value,                                       // stopped answering
        };
        Transition(next, at, trigger.Kind);
    }

    private void Transition(TargetState next, long at, EvidenceKind cause)
    {
        var previous = State;
        State = next;
        var change = new StateChange(next, at, _time.GetUtcNow().UtcTicks, cause);
        Retain(_changes, change);

        if (next is TargetState.Deaf or TargetState.Down or TargetState.Unresponsive)
        {
            if (_open is not null)
            {
                if (previous == TargetState.Unresponsive)
                {
                    // It was deaf (or down) from the start; only the vantage point could not tell yet.
                    _open.State = next;
                    StateChanged?.Invoke(change);
                    return;
                }
                if (previous == TargetState.Down && next == TargetState.Deaf && at - _open.Start < _options.SilenceWindow.Ticks)
                {
                    // It was deaf all along, only quiet at first: relabel rather than split.
                    _open.State = TargetState.Deaf;
                    StateChanged?.Invoke(change);
                    return;
                }
                _open.End = Math.Max(at, _open.Start);
                _open.EndReason = IncidentEnd.StateChanged;
            }
            var counts = _open is null ? _episode ?? new EvidenceCounts() : new EvidenceCounts();
            _open = new Incident(next, at, counts);
            _episode = null;
            Retain(_incidents, _open);
        }
        StateChanged?.Invoke(change);
    }

    private bool _cloned;

    /// <summary>Its MAC is also sending from another bridge port (<see cref="EvidenceKind.MacCloned"/>): nothing from that MAC is its own word.</summary>
    public bool IsCloned => _cloned;

    /// <summary>Its own link (the bridge port it was learned on) has no carrier.</summary>
    public bool IsLinkDown => _linkDown;

    /// <summary>Its MAC sends from another bridge port too: nothing it (or the clone) answers can be weighed.</summary>
    private void Cloned(in Evidence e)
    {
        _cloned = true;
        if (_linkDown) return; // down on its own port's link: that stands, whatever the clone answers
        RestartCount();
        CloseIncident(e.Time, IncidentEnd.MonitorBlind, null);
        if (State != TargetState.Unknown) Transition(TargetState.Unknown, e.Time, e.Kind);
    }

    /// <summary>
    /// While its MAC is cloned only its own port's link is its word: down when that link drops, unknown again when it
    /// comes back. Answers and silences are the clone's as much as its own, and are not weighed.
    /// </summary>
    private void WhileCloned(in Evidence e)
    {
        if (e.Kind == EvidenceKind.FrameFromTarget && e.Time > _lastFrame) _lastFrame = e.Time;
        else if (e.Kind == EvidenceKind.TargetLinkDown)
        {
            _linkDown = true;
            if (State != TargetState.Down) Transition(TargetState.Down, e.Time, e.Kind);
        }
        else if (e.Kind == EvidenceKind.TargetLinkUp)
        {
            _linkDown = false;
            CloseIncident(e.Time, IncidentEnd.MonitorBlind, null);
            if (State != TargetState.Unknown) Transition(TargetState.Unknown, e.Time, e.Kind);
        }
    }

    private void GoBlind(in Evidence e)
    {
        _blind = true;
        RestartCount();
        CloseIncident(e.Time, IncidentEnd.MonitorBlind, null);
        if (State != TargetState.Unknown) Transition(TargetState.Unknown, e.Time, e.Kind);
    }

    /// <summary>Forgets the unanswered evidence counted so far (the evidence of an open incident stays with it).</summary>
    private long _restartedAt = long.MinValue;

    private void RestartCount()
    {
        _negatives = 0;
        _failingSince = null;
        _transmittedWhileFailing = false;
        if (_open is null) _episode = null;
    }

    private void CloseIncident(long end, IncidentEnd reason, EvidenceKind? recoveredBy)
    {
        if (_open is null) return;
        // Evidence can arrive out of order (a proof stamped a moment before the negative that opened the incident):
        // an incident never ends before it starts.
        _open.End = Math.Max(end, _open.Start);
        _open.EndReason = reason;
        _open.RecoveredBy = recoveredBy;
        _open = null;
        _episode = null;
    }

    private void Retain<T>(List<T> list, T item)
    {
        if (list.Count >= _maxRetained) list.RemoveAt(0);
        list.Add(item);
    }
}
