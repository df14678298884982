using ReachProbe.Verdict;

namespace ReachProbe.Wire.Trackers;

/// <summary>Signature 8: no frame from the target for <see cref="VerdictOptions.SilenceWindow"/>. Reported once per silence, stamped with the last frame.</summary>
public sealed class SilenceTracker(TargetIdentity target, IEvidenceSink sink, VerdictOptions options) : SignatureTracker(target, sink, options)
{
    private long? _lastFrame;
    private bool _reported;

    /// <inheritdoc/>
    public override void Observe(in DecodedFrame f)
    {
        if (!Target.IsFrom(f)) return;
        _lastFrame = f.Time;
        _reported = false;
    }

    /// <inheritdoc/>
    public override void Expire(long now)
    {
        if (_reported || _lastFrame is not { } last || now - last <= Options.SilenceWindow.Ticks) return;
        _reported = true;
        Emit(EvidenceKind.Silence, last);
    }
}
