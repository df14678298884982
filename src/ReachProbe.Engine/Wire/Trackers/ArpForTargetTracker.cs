using ReachProbe.Verdict;

namespace ReachProbe.Wire.Trackers;

/// <summary>
/// Signature 2: ARP who-has for the target from other hosts (unicast refreshes, then broadcast) with no reply from
/// the target within <see cref="VerdictOptions.ReplyTimeout"/>. RFC 5227 probes (sender 0.0.0.0) and announcements
/// are not requests for the target and are ignored. A reply counts only from the target's MAC: another MAC answering
/// for its address (a duplicate address, a spoofer) proves nothing.
/// </summary>
public sealed class ArpForTargetTracker(TargetIdentity target, IEvidenceSink sink, VerdictOptions options, int capacity = SignatureTracker.DefaultTableCapacity)
    : SignatureTracker(target, sink, options)
{
    private readonly BoundedTable<(UInt128 Requester, uint N), bool> _pending = new(capacity);   // (requester, n) → broadcast
    private readonly BoundedTable<UInt128, byte> _repliedTo = new(capacity);  // requester → time of the target's last reply to it
    private uint _n;

    /// <inheritdoc/>
    public override long Evicted => _pending.Evicted + _repliedTo.Evicted;

    /// <inheritdoc/>
    public override void Forget()
    {
        _pending.Clear();
        _repliedTo.Clear();
    }

    /// <inheritdoc/>
    public override void Observe(in DecodedFrame f)
    {
        if (!f.IsNeighbour) return;
        if (f.ArpOp == 1 && f.ArpTargetIp == Target.Ip && f.ArpSenderIp != Target.Ip && f.ArpSenderIp != 0 && !Target.IsMonitor(f.ArpSenderIp) && Target.IsDeliveredTo(f) && Target.AnswerWouldShow(f))
        {
            _pending.Set((f.ArpSenderIp, ++_n), f.IsGroupDestination, f.Time);
        }
        else if (f.ArpOp == 2 && f.ArpSenderIp == Target.Ip && f.ArpTargetIp != Target.Ip && (Target.Mac == 0 || f.ArpSenderMac == Target.Mac && f.SrcMac == Target.Mac))
        {
            _repliedTo.Set(f.ArpTargetIp, 0, f.Time);
            Emit(EvidenceKind.ArpAnsweredByTarget, f.Time);
        }
    }

    /// <inheritdoc/>
    public override void Expire(long now)
    {
        _pending.Expire(now - Options.ReplyTimeout.Ticks, (key, broadcast, asked) =>
        {
            if (_repliedTo.TryGet(key.Requester, out _, out var replied) && replied >= asked) return;
            Emit(EvidenceKind.ArpForTargetUnanswered, asked, broadcast);
        });
        // A reply is kept long enough to settle every request it answers.
        _repliedTo.Expire(now - 2 * Options.ReplyTimeout.Ticks, null);
    }
}
