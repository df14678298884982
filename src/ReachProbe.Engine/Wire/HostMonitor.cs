using ReachProbe.Verdict;
using ReachProbe.Wire.Trackers;

namespace ReachProbe.Wire;

/// <summary>How a host's MAC address was learned.</summary>
public enum MacSource : byte
{
    /// <summary>Not learned.</summary>
    None,
    /// <summary>Given by the user.</summary>
    Configured,
    /// <summary>From an ARP packet it sent (reliable: ARP never crosses a router).</summary>
    Arp,
    /// <summary>From the source MAC of an IPv4 packet it sent (tentative: a router forwards with its own MAC).</summary>
    IPv4,
}

/// <summary>One watched host: its identity, its eight signature trackers and its verdict engine.</summary>
public sealed class HostMonitor : IEvidenceSink
{
    private readonly SignatureTracker[] _trackers;

    internal HostMonitor(UInt128 ip, VerdictOptions options, TimeProvider time, Segment segment, int tableCapacity = SignatureTracker.DefaultTableCapacity)
    {
        Identity = new TargetIdentity(ip, segment);
        Verdict = new TargetVerdict(options, time) { Switched = segment.Switched };
        _silence = new SilenceTracker(Identity, this, options, () => Verdict.State == TargetState.Up);
        // Order matters: proofs are weighed before the frame that carries them counts as mere transmission.
        _trackers =
        [
            new EchoTracker(Identity, this, options, tableCapacity),
            new ArpForTargetTracker(Identity, this, options, tableCapacity),
            new DnsRepeatTracker(Identity, this, options, tableCapacity),
            new SynRetransmitTracker(Identity, this, options, tableCapacity),
            new ArpFromTargetTracker(Identity, this, options, tableCapacity),
            new GratuitousArpTracker(Identity, this, options),
            new FramesFromTargetTracker(Identity, this, options),
            _silence,
        ];
    }

    private readonly SilenceTracker _silence;

    /// <summary>Its rhythm of unsolicited frames, learned while it answers (used from a switched view).</summary>
    public Cadence Cadence => _silence.Cadence;

    /// <summary>How long without a frame from it is a silence now (depends on the view and its cadence).</summary>
    public TimeSpan SilenceWindow => _silence.Window;

    /// <summary>The capture's view changed at <paramref name="at"/>: the verdict engine weighs silence accordingly.</summary>
    internal void ViewChanged(bool switched, long at) => Add(new Evidence(switched ? EvidenceKind.ViewSwitched : EvidenceKind.ViewFull, at));

    /// <summary>IP and learned MAC.</summary>
    public TargetIdentity Identity { get; }

    /// <summary>The verdict engine for this host.</summary>
    public TargetVerdict Verdict { get; }

    /// <summary>How the MAC was learned.</summary>
    public MacSource MacSource { get; internal set; }

    /// <summary>Other hosts tried to reach it (an echo request or ARP who-has for it was seen).</summary>
    public bool TriedByOthers { get; internal set; }

    /// <summary>Other MACs that claimed this host's address, with how many frames each sent (at most 16 MACs kept).</summary>
    public IReadOnlyDictionary<ulong, long> Conflicts => _conflicts;

    /// <summary>The MAC of the latest conflict, 0 if none.</summary>
    public ulong ConflictMac { get; private set; }

    private readonly Dictionary<ulong, long> _conflicts = [];
    private readonly Dictionary<ulong, long> _conflictNoted = [];
    private ulong _candidate;
    private long _candidateSince, _candidateLast;
    private static readonly long ConflictNoteEvery = TimeSpan.FromMinutes(1).Ticks;
    private const int MaxConflictMacs = 16;

    /// <summary>
    /// Another MAC claimed this host's address at <paramref name="time"/> (an ARP reply or announcement, an answer to an
    /// ARP probe). It proves nothing. Returns true when it is to be taken as the host's new MAC: not configured, the
    /// same new MAC claiming the address for <paramref name="changeAfter"/> while the old one stayed silent as long.
    /// Otherwise an <see cref="EvidenceKind.AddressConflict"/> is noted (at most once a minute per MAC).
    /// </summary>
    public bool ClaimedBy(ulong mac, long time, TimeSpan changeAfter)
    {
        if (_candidate != mac || time - _candidateLast > changeAfter.Ticks)
        {
            _candidate = mac;
            _candidateSince = time;
        }
        _candidateLast = time;
        var oldSilentSince = Verdict.LastFrame ?? long.MinValue;
        if (MacSource != MacSource.Configured && time - _candidateSince >= changeAfter.Ticks && time - oldSilentSince >= changeAfter.Ticks)
        {
            _candidate = 0;
            Add(new Evidence(EvidenceKind.MacChanged, time));
            return true;
        }
        CountConflict(mac, time);
        return false;
    }

    /// <summary>Counts a frame of <paramref name="mac"/> claiming the address, with an <see cref="EvidenceKind.AddressConflict"/> note at most once a minute per MAC.</summary>
    private void CountConflict(ulong mac, long time)
    {
        if (_conflicts.TryGetValue(mac, out var n) || _conflicts.Count < MaxConflictMacs) _conflicts[mac] = n + 1;
        ConflictMac = mac;
        if (!_conflictNoted.TryGetValue(mac, out var noted) || time - noted >= ConflictNoteEvery)
        {
            if (_conflictNoted.Count < MaxConflictMacs || _conflictNoted.ContainsKey(mac)) _conflictNoted[mac] = time;
            Add(new Evidence(EvidenceKind.AddressConflict, time));
        }
    }

    /// <summary>
    /// Its own MAC was seen sending from another bridge port at <paramref name="time"/> (a clone): counted as a conflict
    /// of its own MAC, with a <see cref="EvidenceKind.AddressConflict"/> note at most once a minute.
    /// </summary>
    public void CloneSighted(long time) => CountClone(time);

    private void CountClone(long time) => CountConflict(Identity.Mac, time);

    /// <summary>Entries dropped from its trackers' full tables.</summary>
    public long Evicted => _trackers.Sum(t => t.Evicted);

    /// <summary>
    /// The host now has <paramref name="ip"/> (a target followed by its MAC, after a DHCP renew): its verdict, open
    /// incident and learned rhythm carry on; requests its trackers held for the old address are forgotten.
    /// </summary>
    internal void Move(UInt128 ip)
    {
        Identity.Ip = ip;
        foreach (var t in _trackers) t.Forget();
    }

    internal void Observe(in DecodedFrame f)
    {
        foreach (var t in _trackers) t.Observe(f);
    }

    internal void Expire(long now)
    {
        foreach (var t in _trackers) t.Expire(now);
        Verdict.Tick();
    }

    /// <summary>Raised for every piece of evidence, before the verdict engine weighs it (metrics).</summary>
    public event Action<HostMonitor, Evidence>? EvidenceObserved;

    /// <summary>Wire evidence of one kind accepted per second before the rest is summarised as a flood.</summary>
    public const int FloodRate = 100;

    // A token bucket per evidence kind, refilled at FloodRate per second of evidence time.
    private readonly Dictionary<EvidenceKind, (double Tokens, long At)> _buckets = [];
    private readonly Dictionary<EvidenceKind, long> _flooded = [];

    /// <summary>Wire evidence left out of the verdict and the counts because it came far above any host's rate, by kind.</summary>
    public IReadOnlyDictionary<EvidenceKind, long> Flooded => _flooded;

    /// <summary>Passes evidence to the verdict engine. A burst of one kind of wire evidence far above any real host's rate (more than <see cref="FloodRate"/> a second) is a flood: that kind is then only counted (<see cref="Flooded"/>) until it has been quiet for <see cref="FloodQuiet"/>, and an <see cref="EvidenceKind.Flood"/> note marks each flood's start.</summary>
    public void Add(in Evidence evidence)
    {
        if (evidence.Kind == EvidenceKind.DuplicateReply) CountClone(evidence.Time);
        if (HoldProofs && evidence.IsProof)
        {
            if (_heldProofs.Count < MaxHeldProofs) _heldProofs.Add(evidence);
            return;
        }
        Weigh(evidence);
    }

    /// <summary>
    /// On a bridge: proofs wait for the next reading of the bridge's forwarding database (every 250 ms), which tells
    /// whether the MAC they came from is still behind its own port alone. A clone's first frames move the MAC to its
    /// port only as they pass: weighed at once, they would make a deaf console up until the next reading.
    /// </summary>
    public bool HoldProofs { get; set; }

    private readonly List<Evidence> _heldProofs = [];

    /// <summary>True while proofs wait for the bridge to be read.</summary>
    public bool HasHeldProofs => _heldProofs.Count > 0;
    private const int MaxHeldProofs = 256;

    /// <summary>The bridge was read: the held proofs are weighed (the MAC is its own alone) or dropped (a clone showed).</summary>
    public void SettleHeldProofs(bool weigh)
    {
        if (_heldProofs.Count == 0) return;
        var held = _heldProofs.ToArray();
        _heldProofs.Clear();
        if (weigh) foreach (var e in held) Weigh(e);
    }

    private void Weigh(in Evidence evidence)
    {
        // Every frame from the target is evidence: it is checked first and never rate-limited.
        if (evidence.Kind is not (EvidenceKind.FrameFromTarget or EvidenceKind.Flood) && evidence.Kind.Info().IsWireSignature && !Take(evidence)) return;
        EvidenceObserved?.Invoke(this, evidence);
        Verdict.Observe(evidence);
    }

    private bool Take(in Evidence e)
    {
        // While a kind floods, none of it is weighed: a stream that far above any host's rate is not the host's word.
        if (_floodUntil.TryGetValue(e.Kind, out var until) && e.Time < until)
        {
            _flooded[e.Kind] = _flooded.GetValueOrDefault(e.Kind) + 1;
            _floodUntil[e.Kind] = Math.Max(until, e.Time + FloodQuiet.Ticks);
            return false;
        }
        var (tokens, at) = _buckets.TryGetValue(e.Kind, out var b) ? b : (FloodRate, e.Time);
        if (e.Time > at) tokens = Math.Min(FloodRate, tokens + (e.Time - at) / (double)TimeSpan.TicksPerSecond * FloodRate);
        if (tokens >= 1)
        {
            _buckets[e.Kind] = (tokens - 1, Math.Max(at, e.Time));
            return true;
        }
        _buckets[e.Kind] = (tokens, Math.Max(at, e.Time));
        _flooded[e.Kind] = _flooded.GetValueOrDefault(e.Kind) + 1;
        _floodUntil[e.Kind] = e.Time + FloodQuiet.Ticks;
        var note = new Evidence(EvidenceKind.Flood, e.Time);
        EvidenceObserved?.Invoke(this, note);
        Verdict.Observe(note);
        return false;
    }

    /// <summary>A flooded kind is weighed again only after this long without the flood.</summary>
    public static readonly TimeSpan FloodQuiet = TimeSpan.FromSeconds(10);

    private readonly Dictionary<EvidenceKind, long> _floodUntil = [];

}
