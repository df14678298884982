using ReachProbe.Verdict;

namespace ReachProbe.Wire.Trackers;

/// <summary>Signature 6: gratuitous ARP (request or reply announcing its own address) from the target: its interface re-initialised, often the start of recovery.</summary>
public sealed class GratuitousArpTracker(TargetIdentity target, IEvidenceSink sink, VerdictOptions options) : SignatureTracker(target, sink, options)
{
    /// <inheritdoc/>
    public override void Observe(in DecodedFrame f)
    {
        if (f.IsGratuitousArp && f.ArpSenderIp == Target.Ip && Target.IsFrom(f)) Emit(EvidenceKind.GratuitousArp, f.Time);
    }
}
