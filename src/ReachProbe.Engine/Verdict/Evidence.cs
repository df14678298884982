namespace ReachProbe.Verdict;

/// <summary>The kinds of timestamped evidence the verdict engine weighs. Each wire tracker emits a few of them; what each means is in <see cref="EvidenceCatalog"/>.</summary>
public enum EvidenceKind : byte
{
    // Proof that the target receives: it answered something that reached it.
    /// <summary>Echo reply from the target to a request on the wire (signature 1, answered).</summary>
    EchoAnswered,
    /// <summary>ARP reply from the target (signature 2, answered).</summary>
    ArpAnsweredByTarget,
    /// <summary>The target completed a TCP handshake, or answered a SYN with SYN/ACK (signature 4, answered).</summary>
    TcpAnsweredByTarget,
    /// <summary>An active probe of ours got its answer (live agent).</summary>
    ProbeAnswered,

    // The target does not answer.
    /// <summary>An echo request to the target went unanswered (signature 1).</summary>
    EchoUnanswered,
    /// <summary>An ARP who-has for the target went unanswered (signature 2); <see cref="Evidence.Broadcast"/> tells which kind.</summary>
    ArpForTargetUnanswered,
    /// <summary>The target repeated a DNS query after the answer to it was on the wire (signature 3).</summary>
    DnsRepeatedAfterAnswer,
    /// <summary>The target retransmitted a SYN after the peer's SYN/ACK was on the wire (signature 4).</summary>
    SynRetransmittedAfterSynAck,
    /// <summary>The target repeated its own ARP who-has after the reply was on the wire (signature 5).</summary>
    ArpRepeatedAfterReply,
    /// <summary>An active probe of ours went unanswered (live agent).</summary>
    ProbeUnanswered,

    // Liveness and context.
    /// <summary>Gratuitous ARP from the target (signature 6): its interface re-initialised.</summary>
    GratuitousArp,
    /// <summary>A frame from the target's MAC (signature 7): it transmits, its link is up.</summary>
    FrameFromTarget,
    /// <summary>No frame from the target for the silence window (signature 8); <see cref="Evidence.Time"/> is its last frame.</summary>
    Silence,
    /// <summary>The target's switch-facing link lost carrier.</summary>
    TargetLinkDown,
    /// <summary>The target's switch-facing link has carrier again.</summary>
    TargetLinkUp,
    /// <summary>The monitor cannot see (capture or its own link down).</summary>
    MonitorBlind,
    /// <summary>The monitor sees again.</summary>
    MonitorSighted,
    /// <summary>
    /// Another MAC claimed the target's address (an ARP reply or announcement, or an answer to our ARP probe): a duplicate
    /// address or a spoofer. Proves nothing; <see cref="Wire.HostMonitor.ConflictMac"/> names the MAC.
    /// </summary>
    AddressConflict,
    /// <summary>The target's MAC changed: the old one fell silent and the new one answered consistently (a new network card).</summary>
    MacChanged,
    /// <summary>One kind of wire evidence came far above any real host's rate: the excess is counted, not weighed (<see cref="Wire.HostMonitor.Flooded"/>).</summary>
    Flood,
    /// <summary>
    /// The capture sees only its own traffic and broadcasts (a plain switch port, Wi-Fi): the target's unicast
    /// conversations are invisible, so its silence is weak evidence (see <see cref="TargetState.Unresponsive"/>).
    /// </summary>
    ViewSwitched,
    /// <summary>The capture sees unicast between other hosts (inline bridge, mirror port): silence is strong evidence again.</summary>
    ViewFull,
    /// <summary>
    /// On a bridge, the target's MAC is also sending from another port than the one it was learned on (a cloned MAC, a
    /// full impersonation): no answer can be told from the clone's, so none is proof. Only the learned port's link is
    /// still its own. Until <see cref="MacUncloned"/>, the target is unknown — or down while that link is down.
    /// </summary>
    MacCloned,
    /// <summary>The clone has not been seen for a while, or the target was taken to have moved to the other port: answers count again.</summary>
    MacUncloned,
    /// <summary>
    /// Two echo replies from the target's MAC to one request: another host sends with its MAC and address (a clone),
    /// or a loop doubles frames. Counted as a conflict of its own MAC; from a mirror or switch port, where there is no
    /// port to tell the two apart, it is the only sign a clone leaves while the target itself answers.
    /// </summary>
    DuplicateReply,
}

/// <summary>One piece of timestamped evidence about one target. <see cref="Time"/> is when it happened on the wire (UTC ticks), which may be earlier than when it became known (a timeout).</summary>
/// <param name="Kind">What was observed.</param>
/// <param name="Time">When, in UTC <see cref="DateTime.Ticks"/>.</param>
/// <param name="Broadcast">For <see cref="EvidenceKind.ArpForTargetUnanswered"/>: the who-has was broadcast rather than unicast.</param>
public readonly record struct Evidence(EvidenceKind Kind, long Time, bool Broadcast = false)
{
    /// <summary>True for evidence that the target received something.</summary>
    public bool IsProof => Kind.Info().Category == EvidenceCategory.Proof;

    /// <summary>True for evidence that the target did not answer.</summary>
    public bool IsNegative => Kind.Info().Category is EvidenceCategory.Unanswered or EvidenceCategory.Ignored;

    /// <summary>True for negative evidence that itself shows the target transmitting (it asked again).</summary>
    public bool ShowsTransmission => Kind.Info().Category == EvidenceCategory.Ignored;
}

/// <summary>A target's reachability state.</summary>
public enum TargetState : byte
{
    /// <summary>The monitor cannot tell: no evidence yet, or the monitor itself is blind.</summary>
    Unknown,
    /// <summary>The target answers.</summary>
    Up,
    /// <summary>The target transmits but ignores answers that reached the wire: "unreachable but link-up".</summary>
    Deaf,
    /// <summary>The target neither answers nor transmits, or its link is down.</summary>
    Down,
    /// <summary>
    /// The target answers nothing and, from this vantage point (a switched view, where its unicast traffic is
    /// invisible), cannot yet be told deaf from down: the first frame from it makes it deaf, its usual cadence of
    /// broadcasts overdue makes it down.
    /// </summary>
    Unresponsive,
}
