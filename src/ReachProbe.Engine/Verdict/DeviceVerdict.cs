namespace ReachProbe.Verdict;

/// <summary>
/// One device's verdict over the verdicts of its addresses (its IPv4 one and its IPv6 one): a pure function of their
/// state changes, with incidents of its own. A device hears when it answers on any of its addresses — evidence from
/// any of them counts for it — so it is <see cref="TargetState.Up"/> while any address is up; otherwise it takes the
/// most telling state among them: deaf (it transmits), then unresponsive, then down; unknown when none can tell.
/// </summary>
/// <remarks>
/// A device deaf on one family only (an IPv4 input filter, a broken ARP cache, with IPv6 still answered) is up: it
/// receives. Its addresses' own verdicts (<see cref="Members"/>) and its probes say which family fails. With one
/// address the device's changes and incidents are exactly that address's (same times, states and ends).
/// </remarks>
public sealed class DeviceVerdict
{
    private readonly List<TargetVerdict> _members = [];
    private readonly List<StateChange> _changes = [];
    private readonly List<Incident> _incidents = [];
    private readonly int _maxRetained;
    private Incident? _open;
    private Incident? _lead; // the address's incident the open one follows
    private TargetVerdict? _leadMember;
    private long _leftUpAt = long.MinValue;

    /// <summary>Creates a device with no address yet (unknown).</summary>
    /// <param name="maxRetained">How many state changes and incidents to keep (oldest dropped first).</param>
    public DeviceVerdict(int maxRetained = 10_000) => _maxRetained = maxRetained;

    /// <summary>The device's state.</summary>
    public TargetState State { get; private set; } = TargetState.Unknown;

    /// <summary>The verdicts of its addresses, in the order added.</summary>
    public IReadOnlyList<TargetVerdict> Members => _members;

    /// <summary>Its state changes, oldest first.</summary>
    public IReadOnlyList<StateChange> Changes => _changes;

    /// <summary>Its incidents, oldest first; the last may be open.</summary>
    public IReadOnlyList<Incident> Incidents => _incidents;

    /// <summary>Evidence totals over all its addresses.</summary>
    public EvidenceCounts Totals
    {
        get
        {
            if (_members.Count == 1) return _members[0].Totals;
            var all = new EvidenceCounts();
            foreach (var m in _members) all.Merge(m.Totals);
            return all;
        }
    }

    /// <summary>Its own link is down (any address's verdict says so: they share the device's link).</summary>
    public bool IsLinkDown => _members.Any(m => m.IsLinkDown);

    /// <summary>
    /// Watches one more address's verdict (a MAC target's IPv6 address learned beside its IPv4 one). Returns the
    /// device's change, if taking it in changes the device's state.
    /// </summary>
    public StateChange? Add(TargetVerdict member, long at, long decidedAt)
    {
        if (_members.Contains(member)) return null;
        _members.Add(member);
        return Reweigh(member, new StateChange(member.State, at, decidedAt, EvidenceKind.TargetLinkUp), joined: true);
    }

    /// <summary>Stops watching an address's verdict (the device left it). Returns the device's change, if any.</summary>
    public StateChange? Remove(TargetVerdict member, long at, long decidedAt)
    {
        if (!_members.Remove(member)) return null;
        if (_leadMember == member && _open is not null)
        {
            _leadMember = _members.FirstOrDefault(m => OpenOf(m) is not null);
            _lead = _leadMember is null ? null : OpenOf(_leadMember);
            if (_lead is null) Close(at, IncidentEnd.StateChanged, null);
        }
        return Reweigh(member, new StateChange(Combine(), at, decidedAt, EvidenceKind.TargetLinkUp), joined: true);
    }

    /// <summary>
    /// One of its addresses changed state (raised by that verdict, whose incidents are already updated). Returns the
    /// device's own change, or null when the device's state stays as it was.
    /// </summary>
    public StateChange? Update(TargetVerdict member, StateChange change) => Reweigh(member, change, joined: false);

    private StateChange? Reweigh(TargetVerdict member, StateChange change, bool joined)
    {
        var next = Combine();
        if (_open is not null && _lead is not null)
        {
            if (next == TargetState.Up)
            {
                // Mirror the address's own end when it is the one that recovered.
                if (_leadMember == member && _lead.End is { } end) Close(end, _lead.EndReason, _lead.RecoveredBy);
                else Close(change.At, IncidentEnd.Recovered, change.Cause);
            }
            else if (_lead.End is { } ended)
            {
                var successor = _members.Select(OpenOf).FirstOrDefault(i => i is not null);
                var split = _lead.EndReason == IncidentEnd.StateChanged && successor is not null && _members.Count(m => OpenOf(m) is not null) == 1
                    && OpenOf(_leadMember!) == successor;
                if (successor is not null && !split)
                {
                    _leadMember = _members.First(m => OpenOf(m) == successor);
                    _lead = successor;
                    _open.State = next;
                }
                else Close(ended, _lead.EndReason, _lead.RecoveredBy);
            }
            else if (next is TargetState.Deaf or TargetState.Down or TargetState.Unresponsive) _open.State = next;
        }
        if (_open is null && next is TargetState.Deaf or TargetState.Down or TargetState.Unresponsive)
        {
            var lead = OpenOf(member) is not null ? member : _members.FirstOrDefault(m => OpenOf(m) is not null);
            if (lead is not null)
            {
                _leadMember = lead;
                _lead = OpenOf(lead)!;
                var start = _members.Count == 1 ? _lead.Start : Math.Max(_lead.Start, _leftUpAt);
                // Its evidence while open is what the address that led it saw; at its end, all its addresses' (Close).
                _open = new Incident(next, start, _lead.Evidence);
                Retain(_incidents, _open);
            }
        }
        if (next == State) return null;
        if (State == TargetState.Up) _leftUpAt = change.At;
        State = next;
        var own = change with { State = next };
        if (joined && _changes.Count > 0 && own.At < _changes[^1].At) own = own with { At = _changes[^1].At };
        Retain(_changes, own);
        return own;
    }

    private void Close(long end, IncidentEnd reason, EvidenceKind? recoveredBy)
    {
        var open = _open!;
        open.End = Math.Max(end, open.Start);
        open.EndReason = reason;
        open.RecoveredBy = recoveredBy;
        if (_members.Count > 1)
        {
            // Everything its addresses' incidents saw while it lasted.
            var all = new EvidenceCounts();
            foreach (var m in _members)
                foreach (var i in m.Incidents)
                    if (i.Start <= open.End && (i.End ?? long.MaxValue) >= open.Start) all.Merge(i.Evidence);
            open.Evidence = all;
        }
        _open = null;
        _lead = null;
        _leadMember = null;
    }

    private static Incident? OpenOf(TargetVerdict v) => v.Incidents.Count > 0 && v.Incidents[^1].End is null ? v.Incidents[^1] : null;

    /// <summary>Up if any address is up; else deaf, unresponsive, down, in that order; else unknown.</summary>
    private TargetState Combine()
    {
        var best = TargetState.Unknown;
        foreach (var m in _members)
        {
            if (m.State == TargetState.Up) return TargetState.Up;
            if (Rank(m.State) > Rank(best)) best = m.State;
        }
        return best;
    }

    private static int Rank(TargetState s) => s switch
    {
        TargetState.Deaf => 3,
        TargetState.Unresponsive => 2,
        TargetState.Down => 1,
        _ => 0,
    };

    private void Retain<T>(List<T> list, T item)
    {
        if (list.Count >= _maxRetained) list.RemoveAt(0);
        list.Add(item);
    }
}
