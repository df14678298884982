namespace ReachProbe.Verdict;

/// <summary>A change of a target's state. <see cref="At"/> is when the evidence says it happened; <see cref="DecidedAt"/> is when the engine knew.</summary>
/// <param name="State">The new state.</param>
/// <param name="At">When it happened on the wire (UTC ticks); for deaf/down, the first unanswered evidence.</param>
/// <param name="DecidedAt">When the engine decided (UTC ticks from its <see cref="TimeProvider"/>).</param>
/// <param name="Cause">The evidence that made the decision.</param>
public readonly record struct StateChange(TargetState State, long At, long DecidedAt, EvidenceKind Cause);

/// <summary>How an incident ended.</summary>
public enum IncidentEnd : byte
{
    /// <summary>Still going when the data ended.</summary>
    Open,
    /// <summary>The target answered again.</summary>
    Recovered,
    /// <summary>It turned into an incident of the other kind (deaf went silent, or a down host started transmitting).</summary>
    StateChanged,
    /// <summary>The monitor went blind, so nothing more can be said.</summary>
    MonitorBlind,
    /// <summary>History only: the agent died during it; closed at its last sign of life.</summary>
    CutShort,
    /// <summary>History only: the agent stopped cleanly during it.</summary>
    AgentStopped,
    /// <summary>History only: an imported capture ended during it.</summary>
    CaptureEnded,
}

/// <summary>
/// A period during which a target was deaf, down or unresponsive. An unresponsive period that turned deaf or down is
/// that incident from its start; one that ended with an answer stays an incident of its own (short, as a rule).
/// </summary>
public sealed class Incident
{
    internal Incident(TargetState state, long start, EvidenceCounts counts)
    {
        State = state;
        Start = start;
        Evidence = counts;
    }

    /// <summary><see cref="TargetState.Deaf"/>, <see cref="TargetState.Down"/> or <see cref="TargetState.Unresponsive"/>.</summary>
    public TargetState State { get; internal set; }
    /// <summary>Start (UTC ticks): the first unanswered evidence.</summary>
    public long Start { get; }
    /// <summary>End (UTC ticks), or null while open.</summary>
    public long? End { get; internal set; }
    /// <summary>Why it ended.</summary>
    public IncidentEnd EndReason { get; internal set; }
    /// <summary>The proof of receipt that ended it, when <see cref="EndReason"/> is <see cref="IncidentEnd.Recovered"/>.</summary>
    public EvidenceKind? RecoveredBy { get; internal set; }
    /// <summary>The evidence seen from its start to its end.</summary>
    public EvidenceCounts Evidence { get; internal set; }
}
