using System.Collections.Frozen;

namespace ReachProbe.Verdict;

/// <summary>What a kind of evidence means to the verdict engine. Behaviour hangs on this, never on enum order.</summary>
public enum EvidenceCategory : byte
{
    /// <summary>The target received something: it answered. Makes it up and ends any incident.</summary>
    Proof,
    /// <summary>Something sent to the target went unanswered.</summary>
    Unanswered,
    /// <summary>The target asked again after the answer reached the wire: unanswered, and proof that it transmits.</summary>
    Ignored,
    /// <summary>The target transmits (a frame from its MAC).</summary>
    Transmission,
    /// <summary>Context about the target: gratuitous ARP, silence, its link.</summary>
    Context,
    /// <summary>About the monitor itself (blind or sighted), not the target.</summary>
    Monitor,
}

/// <summary>
/// Everything said about one kind of evidence, in one place: its category, its Prometheus label and history key
/// (<see cref="Name"/>), its JSON names and its timeline text. A new signature is its tracker, its test and one row
/// in <see cref="EvidenceCatalog"/>.
/// </summary>
/// <param name="Kind">The kind.</param>
/// <param name="Category">What it means to the verdict.</param>
/// <param name="Name">snake_case name: the <c>signature</c> label of <c>reachprobe_wire_evidence_total</c> and the key of its count in the history.</param>
/// <param name="IsWireSignature">Counted in <c>reachprobe_wire_evidence_total</c> (the probes' own results have their metrics).</param>
/// <param name="JsonCount">Key of its count in <c>analyze --json</c>'s incident evidence, or null when not written there.</param>
/// <param name="Text">How the timeline says it (a state change's cause, or a note).</param>
/// <param name="CountText">How an incident summary counts it ("… ×N"), or null when the summary has its own words.</param>
public sealed record EvidenceInfo(EvidenceKind Kind, EvidenceCategory Category, string Name, bool IsWireSignature, string? JsonCount, string Text, string? CountText)
{
    /// <summary>camelCase name, as <c>analyze --json</c> gives a state change's cause.</summary>
    public string JsonName { get; } = Names.Camel(Kind.ToString());
}

/// <summary>The one table of evidence kinds.</summary>
public static class EvidenceCatalog
{
    private static readonly EvidenceInfo[] Rows =
    [
        // Proof that the target receives.
        new(EvidenceKind.EchoAnswered, EvidenceCategory.Proof, "echo_answered", true, null, "echo answered", null),
        new(EvidenceKind.ArpAnsweredByTarget, EvidenceCategory.Proof, "arp_answered", true, null, "answered ARP", null),
        new(EvidenceKind.TcpAnsweredByTarget, EvidenceCategory.Proof, "tcp_answered", true, null, "answered TCP", null),
        new(EvidenceKind.ProbeAnswered, EvidenceCategory.Proof, "probe_answered", false, null, "probe answered", null),
        // It does not answer.
        new(EvidenceKind.EchoUnanswered, EvidenceCategory.Unanswered, "echo_unanswered", true, "icmpUnanswered", "echo unanswered", null),
        new(EvidenceKind.ArpForTargetUnanswered, EvidenceCategory.Unanswered, "arp_unanswered", true, "arpUnanswered", "ARP for it unanswered", null),
        // It asked again after the answer reached the wire.
        new(EvidenceKind.DnsRepeatedAfterAnswer, EvidenceCategory.Ignored, "dns_repeated_after_answer", true, "dnsRepeatedAfterAnswer", "DNS query repeated after answer", "DNS query repeated after answer"),
        new(EvidenceKind.SynRetransmittedAfterSynAck, EvidenceCategory.Ignored, "syn_retransmitted_after_synack", true, "synRetransmittedAfterSynAck", "SYN retransmitted after SYN/ACK", "SYN retransmitted after SYN/ACK"),
        new(EvidenceKind.ArpRepeatedAfterReply, EvidenceCategory.Ignored, "arp_repeated_after_reply", true, "arpRepeatedAfterReply", "its ARP repeated after reply", "its ARP repeated after reply"),
        // Listed after the signatures so that an incident summary names them first.
        new(EvidenceKind.ProbeUnanswered, EvidenceCategory.Unanswered, "probe_unanswered", false, null, "probes unanswered", "probes unanswered"),
        // Liveness and context.
        new(EvidenceKind.GratuitousArp, EvidenceCategory.Context, "gratuitous_arp", true, "gratuitousArp", "gratuitous ARP", null),
        new(EvidenceKind.FrameFromTarget, EvidenceCategory.Transmission, "frame_from_target", true, "framesFromTarget", "frames from it", null),
        new(EvidenceKind.Silence, EvidenceCategory.Context, "silence", true, null, "last frame before a silence", null),
        new(EvidenceKind.TargetLinkDown, EvidenceCategory.Context, "target_link_down", false, null, "link down", null),
        new(EvidenceKind.TargetLinkUp, EvidenceCategory.Context, "target_link_up", false, null, "link up", null),
        new(EvidenceKind.MonitorBlind, EvidenceCategory.Monitor, "monitor_blind", false, null, "monitor blind", null),
        new(EvidenceKind.MonitorSighted, EvidenceCategory.Monitor, "monitor_sighted", false, null, "monitor sees again", null),
        new(EvidenceKind.AddressConflict, EvidenceCategory.Context, "address_conflict", true, null, "another MAC claimed its address", null),
        new(EvidenceKind.MacChanged, EvidenceCategory.Context, "mac_changed", true, null, "its MAC changed", null),
        new(EvidenceKind.Flood, EvidenceCategory.Context, "flood", true, null, "a flood of evidence, summarised", null),
        new(EvidenceKind.DuplicateReply, EvidenceCategory.Context, "duplicate_reply", true, null, "two replies to one echo request from its MAC: a clone?", null),
        new(EvidenceKind.ViewSwitched, EvidenceCategory.Monitor, "view_switched", false, null, "the capture sees a switched view", null),
        new(EvidenceKind.ViewFull, EvidenceCategory.Monitor, "view_full", false, null, "the capture sees a full view", null),
        new(EvidenceKind.MacCloned, EvidenceCategory.Monitor, "mac_cloned", false, null, "its MAC also sends from another bridge port: answers cannot be told from the clone's", null),
        new(EvidenceKind.MacUncloned, EvidenceCategory.Monitor, "mac_uncloned", false, null, "its MAC is on its own port alone again", null),
    ];

    private static readonly EvidenceInfo[] ByKind = Index();
    private static readonly FrozenDictionary<string, EvidenceKind> ByName = Rows.ToFrozenDictionary(r => r.Name, r => r.Kind);

    private static EvidenceInfo[] Index()
    {
        var kinds = Enum.GetValues<EvidenceKind>();
        var index = new EvidenceInfo[kinds.Length];
        foreach (var r in Rows) index[(int)r.Kind] = r;
        foreach (var k in kinds)
            if (index[(int)k] is null) throw new InvalidOperationException($"EvidenceCatalog has no row for {k}");
        return index;
    }

    /// <summary>Every kind, in table order.</summary>
    public static IReadOnlyList<EvidenceInfo> All => Rows;

    /// <summary>The row of a kind.</summary>
    public static EvidenceInfo Info(this EvidenceKind kind) => ByKind[(int)kind];

    /// <summary>The kind with this snake_case name (history key, metric label).</summary>
    public static bool TryParse(string name, out EvidenceKind kind) => ByName.TryGetValue(name, out kind);
}

/// <summary>Names of states and incident ends, in one place.</summary>
public static class Names
{
    private static readonly string[] StateNames = ["unknown", "up", "deaf", "down", "unresponsive"];
    private static readonly string[] EndNames = ["open", "recovered", "state_changed", "monitor_blind", "cut_short", "agent_stopped", "capture_ended"];

    /// <summary>Every state, in the order metrics list them.</summary>
    public static IReadOnlyList<TargetState> States { get; } = [TargetState.Up, TargetState.Deaf, TargetState.Down, TargetState.Unresponsive, TargetState.Unknown];

    /// <summary>Lower-case state name, as output, metrics and history use it.</summary>
    public static string Name(this TargetState s) => StateNames[(int)s];

    /// <summary>snake_case end reason, as history stores it (JSON uses <see cref="Camel"/> of it).</summary>
    public static string Name(this IncidentEnd e) => EndNames[(int)e];

    /// <summary>The state with this name.</summary>
    public static bool TryParseState(string name, out TargetState state)
    {
        var i = Array.IndexOf(StateNames, name);
        state = (TargetState)Math.Max(i, 0);
        return i >= 0;
    }

    /// <summary>The end reason with this name.</summary>
    public static bool TryParseEnd(string name, out IncidentEnd end)
    {
        var i = Array.IndexOf(EndNames, name);
        end = (IncidentEnd)Math.Max(i, 0);
        return i >= 0;
    }

    /// <summary>"state_changed" → "stateChanged"; "EchoAnswered" → "echoAnswered".</summary>
    public static string Camel(string s)
    {
        var parts = s.Split('_');
        var b = new System.Text.StringBuilder(s.Length);
        b.Append(char.ToLowerInvariant(parts[0][0])).Append(parts[0].AsSpan(1));
        foreach (var p in parts.Skip(1)) if (p.Length > 0) b.Append(char.ToUpperInvariant(p[0])).Append(p.AsSpan(1));
        return b.ToString();
    }
}
