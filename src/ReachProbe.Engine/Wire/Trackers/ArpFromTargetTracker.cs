using ReachProbe.Verdict;

namespace ReachProbe.Wire.Trackers;

/// <summary>
/// Signature 5: the target's own ARP who-has repeated within <see cref="VerdictOptions.ArpRepeatWindow"/> after the
/// reply to it was on the wire. A host that received the reply caches it; one that asks again did not hear it. In
/// the lab this is the most durable sign of deafness: it needs only the target's own chatter. From a switched view the
/// reply, unicast to the target, is invisible; there a who-has repeated within the window for a host that answered the
/// monitor's own ARP lately counts instead: that host answers, so the target did not hear it.
/// </summary>
public sealed class ArpFromTargetTracker(TargetIdentity target, IEvidenceSink sink, VerdictOptions options, int capacity = SignatureTracker.DefaultTableCapacity)
    : SignatureTracker(target, sink, options)
{
    private readonly BoundedTable<UInt128, bool> _asked = new(capacity); // asked-for IP → replied; stamp: asked or replied

    /// <inheritdoc/>
    public override long Evicted => _asked.Evicted;

    /// <inheritdoc/>
    public override void Forget()
    {
        _asked.Clear();
    }

    /// <inheritdoc/>
    public override void Observe(in DecodedFrame f)
    {
        if (!f.IsNeighbour) return;
        if (f.ArpOp == 1 && f.ArpSenderIp == Target.Ip && f.ArpTargetIp != Target.Ip && f.ArpTargetIp != 0)
        {
            if (_asked.TryGet(f.ArpTargetIp, out var replied, out var stamp) && f.Time - stamp <= Options.ArpRepeatWindow.Ticks
                && (replied || (Target.Segment.Switched && Target.Segment.AnswersArp(f.ArpTargetIp, f.Time, ResponderMemory))))
            {
                Emit(EvidenceKind.ArpRepeatedAfterReply, f.Time);
                // Switched: each repeat is measured from the one before (the reply stays invisible).
                if (!replied) _asked.Set(f.ArpTargetIp, false, f.Time);
            }
            else
                _asked.Set(f.ArpTargetIp, false, f.Time);
        }
        else if (f.ArpOp == 2 && f.ArpSenderIp != Target.Ip && Target.IsDeliveredTo(f) && (f.ArpTargetIp == Target.Ip || (Target.Mac != 0 && f.ArpTargetMac == Target.Mac)))
        {
            if (_asked.TryGet(f.ArpSenderIp, out _, out _)) _asked.Set(f.ArpSenderIp, true, f.Time);
        }
    }

    /// <summary>How long a host that answered the monitor's ARP is taken to answer ARP (a Linux cache entry's life, about).</summary>
    public static readonly TimeSpan ResponderMemory = TimeSpan.FromSeconds(60);

    /// <inheritdoc/>
    public override void Expire(long now) =>
        _asked.Expire(now - Math.Max(Options.ArpRepeatWindow.Ticks, Options.ReplyTimeout.Ticks), null);
}
