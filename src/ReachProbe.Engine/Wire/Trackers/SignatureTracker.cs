using ReachProbe.Verdict;

namespace ReachProbe.Wire.Trackers;

/// <summary>What a tracker knows of the host it watches (the MAC is learned from the wire) and of the segment it is on.</summary>
public sealed class TargetIdentity(UInt128 ip, Segment? segment = null)
{
    /// <summary>IP address (see <see cref="DecodedFrame"/>) (a target followed by its MAC moves: <see cref="HostMonitor.Move"/>).</summary>
    public UInt128 Ip { get; internal set; } = ip;

    /// <summary>MAC address, 0 until learned.</summary>
    public ulong Mac { get; set; }

    /// <summary>What all hosts of the pipeline share about the segment.</summary>
    public Segment Segment { get; } = segment ?? new Segment();

    /// <summary>The live agent's own address (0 offline): see <see cref="Segment.Monitor"/>.</summary>
    public UInt128 Monitor => Segment.Monitor;

    /// <summary>True for one of the live agent's own addresses: see <see cref="Segment.IsMonitor"/>.</summary>
    public bool IsMonitor(UInt128 ip) => Segment.IsMonitor(ip);

    /// <summary>
    /// True when the frame was sent to this host's MAC (or broadcast/multicast), or its MAC is not known yet: an answer
    /// sent to another MAC (a duplicate address) never reached it and says nothing about whether it listens.
    /// </summary>
    public bool IsDeliveredTo(in DecodedFrame f) => Mac == 0 || f.DstMac == Mac || (f.DstMac & 0x0100_0000_0000) != 0;

    /// <summary>
    /// True when an answer to this request (sent to its sender) would show in the capture: always in a full view; in a
    /// switched view only when the capturing host asked — a learning switch never shows the target's unicast reply to
    /// anyone else, so another host's request going "unanswered" there is no evidence at all.
    /// </summary>
    public bool AnswerWouldShow(in DecodedFrame request) => !Segment.Switched || (Segment.MonitorMac != 0 && request.SrcMac == Segment.MonitorMac);

    /// <summary>True when the frame was sent by this host: its MAC when known, else its IP or ARP (NDP) sender address.</summary>
    public bool IsFrom(in DecodedFrame f) => Mac != 0
        ? f.SrcMac == Mac
        : (f.IsIp && f.IpSrc == Ip) || (f.IsNeighbour && f.ArpSenderIp == Ip);
}

/// <summary>Receives evidence from trackers.</summary>
public interface IEvidenceSink
{
    /// <summary>Takes one piece of evidence.</summary>
    void Add(in Evidence evidence);
}

/// <summary>
/// Watches one target for one field-report signature: frames in, typed <see cref="Evidence"/> out. Trackers hold no
/// policy (that is the verdict engine's) and every table they keep is bounded.
/// </summary>
public abstract class SignatureTracker(TargetIdentity target, IEvidenceSink sink, VerdictOptions options)
{
    /// <summary>Default bound of each tracker's request table (one host, or a capture's few).</summary>
    public const int DefaultTableCapacity = 1024;

    /// <summary>The smallest bound a table gets however many hosts share the budget: ample for a real host's traffic.</summary>
    public const int MinTableCapacity = 64;

    /// <summary>Entries all the hosts' request tables may hold together (about 30 MB when a flood fills them all).</summary>
    public const int TotalTableBudget = 262_144;

    /// <summary>Trackers of a host that keep a request table.</summary>
    public const int TablesPerHost = 5;

    /// <summary>
    /// The bound of each request table when <paramref name="hosts"/> hosts are watched: the budget shared out, between
    /// <see cref="MinTableCapacity"/> and <see cref="DefaultTableCapacity"/>. A flood of unique unanswered requests at
    /// every target fills every table: at the default bound that was 573 KB a target, 560 MB for a thousand (the
    /// memory benchmark); shared out, the worst case stays near 30 MB up to 800 targets and 64 entries a table beyond.
    /// </summary>
    public static int TableCapacityFor(int hosts) =>
        Math.Clamp(TotalTableBudget / Math.Max(1, hosts * TablesPerHost), MinTableCapacity, DefaultTableCapacity);

    /// <summary>The host watched.</summary>
    protected TargetIdentity Target { get; } = target;

    /// <summary>Where evidence goes.</summary>
    protected IEvidenceSink Sink { get; } = sink;

    /// <summary>Thresholds.</summary>
    protected VerdictOptions Options { get; } = options;

    /// <summary>Looks at one frame that involves the target.</summary>
    public abstract void Observe(in DecodedFrame frame);

    /// <summary>Lets time pass: requests older than their timeout are settled.</summary>
    public virtual void Expire(long now) { }

    /// <summary>
    /// The host moved to another address: requests to (or from) the old one are forgotten, not settled — the host left
    /// that address, so their going unanswered says nothing about whether it listens.
    /// </summary>
    public virtual void Forget() { }

    /// <summary>Entries dropped from full tables.</summary>
    public virtual long Evicted => 0;

    /// <summary>Emits evidence.</summary>
    protected void Emit(EvidenceKind kind, long time, bool broadcast = false) => Sink.Add(new Evidence(kind, time, broadcast));
}
