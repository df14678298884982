namespace ReachProbe.Verdict;

/// <summary>What <c>reachprobe probe</c> ends with: the engine's states, and "no such host", which only a one-off probe needs.</summary>
public enum ProbeOutcome : byte
{
    /// <summary>It answered (exit 0).</summary>
    Up,
    /// <summary>It transmits but answered nothing (exit 1).</summary>
    Deaf,
    /// <summary>Silent, and known to exist: its MAC was known, or it was seen (exit 3).</summary>
    Down,
    /// <summary>Answered nothing; from a switched view deaf cannot be told from down (exit 4).</summary>
    Unresponsive,
    /// <summary>Nothing ever answered ARP for it and nothing from it was seen (exit 5).</summary>
    NoSuchHost,
    /// <summary>The monitor cannot tell: no capture, a cloned MAC, too little evidence (exit 6).</summary>
    Unknown,
}

/// <summary>The verdict of a one-off probe: its outcome, its line, its exit code.</summary>
/// <param name="Outcome">The outcome.</param>
/// <param name="Why">The reason, in words (after "deaf: ").</param>
public sealed record ProbeVerdict(ProbeOutcome Outcome, string Why)
{
    /// <summary>The evidence of the run by its snake_case name (<see cref="EvidenceInfo.Name"/>), the kinds seen only.</summary>
    public IReadOnlyDictionary<string, long> Evidence { get; init; } = new Dictionary<string, long>();

    /// <summary>Counts of <paramref name="e"/> by name, for <see cref="Evidence"/>.</summary>
    public static IReadOnlyDictionary<string, long> Named(EvidenceCounts e) =>
        EvidenceCatalog.All.Where(i => e[i.Kind] > 0).ToDictionary(i => i.Name, i => e[i.Kind]);

    /// <summary>The exit code of each outcome (2 is taken by bad usage).</summary>
    public int ExitCode => Outcome switch
    {
        ProbeOutcome.Up => 0,
        ProbeOutcome.Deaf => 1,
        ProbeOutcome.Down => 3,
        ProbeOutcome.Unresponsive => 4,
        ProbeOutcome.NoSuchHost => 5,
        _ => 6,
    };

    /// <summary>The outcome's name: "up", "deaf", "down", "unresponsive", "no such host", "unknown".</summary>
    public string Name => Outcome == ProbeOutcome.NoSuchHost ? "no such host" : Outcome.ToString().ToLowerInvariant();

    /// <summary>The last line of <c>probe</c>: "verdict: DEAF — transmits (4 frames) but answered none of …".</summary>
    public string Line => $"verdict: {(Outcome == ProbeOutcome.Up ? "up" : Name.ToUpperInvariant())} — {Why}";

    /// <summary>
    /// Decides the outcome from what the engine made of the probe's run. Pure: the caller gathers the facts.
    /// </summary>
    /// <param name="state">The engine's state at the end of the watch.</param>
    /// <param name="incident">The evidence of its last incident (open or just ended), or null.</param>
    /// <param name="totals">All evidence of the run.</param>
    /// <param name="macKnown">The target's MAC was known before the probe (given, or in the neighbour table) or learned during it.</param>
    /// <param name="blind">Why the capture could not run, or null when it ran throughout.</param>
    /// <param name="cloned">Its MAC sends from another bridge port too.</param>
    /// <param name="probesAnswered">How many probe attempts got an answer (the socket's word).</param>
    /// <param name="probesSent">How many probe attempts were made.</param>
    /// <param name="attempts">Which probe attempts went unanswered, in words ("icmp ×3, arp ×3"), when known.</param>
    public static ProbeVerdict Decide(TargetState state, EvidenceCounts? incident, EvidenceCounts totals, bool macKnown, string? blind, bool cloned,
        int probesAnswered, int probesSent, string? attempts = null)
    {
        if (blind is not null)
            return probesAnswered > 0
                ? new(ProbeOutcome.Up, $"answered {probesAnswered} of {probesSent} probe attempts (no capture: {blind}; the answers are the socket's word alone)")
                : new(ProbeOutcome.Unknown, $"nothing answered, and without a capture ({blind}) deaf, down and no such host cannot be told apart");
        if (cloned)
            return new(ProbeOutcome.Unknown, "its MAC also sends from another bridge port: its answers cannot be told from the clone's");
        var seen = totals[EvidenceKind.FrameFromTarget] > 0 || totals[EvidenceKind.GratuitousArp] > 0;
        var evidence = incident ?? totals;
        switch (state)
        {
            case TargetState.Up:
                return new(ProbeOutcome.Up, $"it answered ({Proofs(totals)})");
            case TargetState.Deaf:
                return new(ProbeOutcome.Deaf, VerdictWords.Why(state, evidence, attempts));
            case TargetState.Down when seen || macKnown || totals[EvidenceKind.TargetLinkDown] > 0:
                return new(ProbeOutcome.Down, VerdictWords.Why(state, evidence, attempts));
            case TargetState.Unresponsive when seen || macKnown:
                return new(ProbeOutcome.Unresponsive, VerdictWords.Why(state, evidence, attempts));
        }
        if (!seen && !macKnown && probesAnswered == 0)
            return new(ProbeOutcome.NoSuchHost, $"nothing answered ARP for it and nothing from it was seen ({VerdictWords.Unanswered(totals, attempts)} unanswered)");
        return new(ProbeOutcome.Unknown, state == TargetState.Unknown
            ? $"too little evidence to decide ({VerdictWords.Unanswered(totals, attempts)} unanswered, {totals[EvidenceKind.FrameFromTarget]} frames from it): probe longer (--count, --watch)"
            : $"the engine says {state.Name()}");
    }

    private static string Proofs(EvidenceCounts e)
    {
        var parts = new List<string>();
        foreach (var info in EvidenceCatalog.All)
            if (info.Category == EvidenceCategory.Proof && e[info.Kind] > 0) parts.Add($"{info.Text} ×{e[info.Kind]}");
        return parts.Count == 0 ? "an answer" : string.Join(", ", parts);
    }
}
