using ReachProbe.Verdict;

namespace ReachProbe.Wire.Trackers;

/// <summary>Signature 7: any frame from the target's MAC. It transmits, so its link is up.</summary>
public sealed class FramesFromTargetTracker(TargetIdentity target, IEvidenceSink sink, VerdictOptions options) : SignatureTracker(target, sink, options)
{
    /// <inheritdoc/>
    public override void Observe(in DecodedFrame f)
    {
        if (Target.IsFrom(f)) Emit(EvidenceKind.FrameFromTarget, f.Time);
    }
}
