using ReachProbe.Verdict;

namespace ReachProbe.Wire.Trackers;

/// <summary>
/// Signature 3: a DNS query from the target repeated after the answer to it was on the wire. The same query means the
/// same transaction id, client port, question name and type, client and server (so random queries forged in a flood
/// almost never match one), sent from the target's MAC. A retry while no answer was seen is ordinary
/// resolver behaviour and is not counted.
/// </summary>
public sealed class DnsRepeatTracker(TargetIdentity target, IEvidenceSink sink, VerdictOptions options, int capacity = SignatureTracker.DefaultTableCapacity)
    : SignatureTracker(target, sink, options)
{
    private readonly record struct QueryKey(ushort Id, ushort Port, ushort Type, ulong Name, UInt128 Server);

    private readonly BoundedTable<QueryKey, bool> _queries = new(capacity); // → answered; stamp: sent or answered

    /// <inheritdoc/>
    public override long Evicted => _queries.Evicted;

    /// <inheritdoc/>
    public override void Forget()
    {
        _queries.Clear();
    }

    /// <inheritdoc/>
    public override void Observe(in DecodedFrame f)
    {
        if (f.Transport != TransportKind.Dns) return;
        if (!f.DnsIsResponse && f.IpSrc == Target.Ip && f.DstPort == 53 && Target.IsFrom(f))
        {
            var key = new QueryKey(f.DnsId, f.SrcPort, f.DnsQtype, f.DnsQnameHash, f.IpDst);
            if (!_queries.TryGet(key, out var answered, out var stamp)) _queries.Set(key, false, f.Time);
            else if (answered && f.Time - stamp <= Options.RepeatWindow.Ticks) Emit(EvidenceKind.DnsRepeatedAfterAnswer, f.Time);
        }
        else if (f.DnsIsResponse && f.IpDst == Target.Ip && f.SrcPort == 53 && Target.IsDeliveredTo(f))
        {
            var key = new QueryKey(f.DnsId, f.DstPort, f.DnsQtype, f.DnsQnameHash, f.IpSrc);
            if (_queries.TryGet(key, out var answered, out _) && !answered) _queries.Set(key, true, f.Time);
        }
    }

    /// <inheritdoc/>
    public override void Expire(long now) => _queries.Expire(now - Options.RepeatWindow.Ticks, null);
}
