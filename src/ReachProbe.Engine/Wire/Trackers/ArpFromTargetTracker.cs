using ReachProbe.Verdict;

namespace ReachProbe.Wire.Trackers;

/// <summary>
/// Signature 5: the target's own ARP who-has repeated within <see cref="VerdictOptions.ArpRepeatWindow"/> after the
/// reply to it was on the wire. A host that received the reply caches it; one that asks again did not hear it. In
/// the lab this is the most durable sign of deafness: it needs only the target's own chatter.
/// </summary>
public sealed class ArpFromTargetTracker(TargetIdentity target, IEvidenceSink sink, VerdictOptions options, int capacity = SignatureTracker.DefaultTableCapacity)
    : SignatureTracker(target, sink, options)
{
    private readonly BoundedTable<uint, bool> _asked = new(capacity); // asked-for IP → replied; stamp: asked or replied

    /// <inheritdoc/>
    public override long Evicted => _asked.Evicted;

    /// <inheritdoc/>
    public override void Observe(in DecodedFrame f)
    {
        if (f.Kind != FrameKind.Arp) return;
        if (f.ArpOp == 1 && f.ArpSenderIp == Target.Ip && f.ArpTargetIp != Target.Ip && f.ArpTargetIp != 0)
        {
            if (_asked.TryGet(f.ArpTargetIp, out var replied, out var stamp) && replied && f.Time - stamp <= Options.ArpRepeatWindow.Ticks)
                Emit(EvidenceKind.ArpRepeatedAfterReply, f.Time);
            else
                _asked.Set(f.ArpTargetIp, false, f.Time);
        }
        else if (f.ArpOp == 2 && f.ArpSenderIp != Target.Ip && Target.IsDeliveredTo(f) && (f.ArpTargetIp == Target.Ip || (Target.Mac != 0 && f.ArpTargetMac == Target.Mac)))
        {
            if (_asked.TryGet(f.ArpSenderIp, out _, out _)) _asked.Set(f.ArpSenderIp, true, f.Time);
        }
    }

    /// <inheritdoc/>
    public override void Expire(long now) =>
        _asked.Expire(now - Math.Max(Options.ArpRepeatWindow.Ticks, Options.ReplyTimeout.Ticks), null);
}
