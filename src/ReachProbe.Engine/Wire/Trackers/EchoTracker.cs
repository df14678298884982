using ReachProbe.Verdict;

namespace ReachProbe.Wire.Trackers;

/// <summary>Signature 1: echo requests to the target with no echo reply within <see cref="VerdictOptions.ReplyTimeout"/>.</summary>
public sealed class EchoTracker(TargetIdentity target, IEvidenceSink sink, VerdictOptions options, int capacity = SignatureTracker.DefaultTableCapacity)
    : SignatureTracker(target, sink, options)
{
    // Key: requester IP, echo id and sequence, so concurrent pingers never answer each other's requests.
    private readonly BoundedTable<(UInt128, ushort, ushort), byte> _pending = new(capacity);
    // Requests answered lately (the same key): a second reply to one of them is a duplicate.
    private readonly BoundedTable<(UInt128, ushort, ushort), byte> _answered = new(capacity);

    /// <inheritdoc/>
    public override long Evicted => _pending.Evicted + _answered.Evicted;

    /// <inheritdoc/>
    public override void Forget()
    {
        _pending.Clear();
        _answered.Clear();
    }

    /// <inheritdoc/>
    public override void Observe(in DecodedFrame f)
    {
        if (f.Transport != TransportKind.IcmpEcho) return;
        if (f.IcmpType == 8 && f.IpDst == Target.Ip && f.IpSrc != Target.Ip && !Target.IsMonitor(f.IpSrc) && Target.IsDeliveredTo(f) && Target.AnswerWouldShow(f))
        {
            var key = Key(f.IpSrc, f.IcmpId, f.IcmpSeq);
            if (!_pending.TryGet(key, out _, out _)) _pending.Set(key, 0, f.Time); // a duplicate keeps the first time
        }
        else if (f.IcmpType == 0 && f.IpSrc == Target.Ip && Target.IsFrom(f))
        {
            var key = Key(f.IpDst, f.IcmpId, f.IcmpSeq);
            _pending.Remove(key);
            if (_answered.TryGet(key, out _, out _)) Emit(EvidenceKind.DuplicateReply, f.Time);
            else _answered.Set(key, 0, f.Time);
            // Any echo reply proves the target received a request, even one sent before the capture began.
            Emit(EvidenceKind.EchoAnswered, f.Time);
        }
    }

    /// <inheritdoc/>
    public override void Expire(long now)
    {
        _pending.Expire(now - Options.ReplyTimeout.Ticks, (_, _, sent) => Emit(EvidenceKind.EchoUnanswered, sent));
        _answered.Expire(now - Options.ReplyTimeout.Ticks, static (_, _, _) => { });
    }

    private static (UInt128, ushort, ushort) Key(UInt128 requester, ushort id, ushort seq) => (requester, id, seq);
}
