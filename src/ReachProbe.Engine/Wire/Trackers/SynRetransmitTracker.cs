using ReachProbe.Verdict;

namespace ReachProbe.Wire.Trackers;

/// <summary>
/// Signature 4: a SYN from the target retransmitted after the peer's SYN/ACK for it was on the wire. A SYN/ACK is only
/// matched to a SYN seen before it, so a SYN/ACK captured ahead of its SYN (reordering) never makes the SYN a
/// retransmission. The target completing the handshake (ACK or RST for the SYN/ACK), or answering a SYN seen on the
/// wire with its SYN/ACK, is proof that it receives; only frames from the target's MAC count.
/// </summary>
public sealed class SynRetransmitTracker(TargetIdentity target, IEvidenceSink sink, VerdictOptions options, int capacity = SignatureTracker.DefaultTableCapacity)
    : SignatureTracker(target, sink, options)
{
    private readonly record struct ConnKey(UInt128 Peer, ushort LocalPort, ushort PeerPort, uint Isn);

    // Value: the peer's ISN once its SYN/ACK was seen, or null while the SYN is pending; stamp: SYN or SYN/ACK time.
    private readonly BoundedTable<ConnKey, uint?> _conns = new(capacity);
    // SYNs to the target from peers, by (peer, the target's port, the peer's port, the peer's ISN): a SYN/ACK proves
    // receipt only when it answers one of them, so forged SYN/ACKs "from the target" prove nothing.
    private readonly BoundedTable<ConnKey, byte> _inbound = new(capacity);
    // SYN/ACKs from the target captured before the SYN they answer (reordering): proof once that SYN shows.
    private readonly BoundedTable<ConnKey, byte> _early = new(capacity);

    private const byte Ack = 0x10, Rst = 0x04;

    /// <inheritdoc/>
    public override long Evicted => _conns.Evicted + _inbound.Evicted + _early.Evicted;

    /// <inheritdoc/>
    public override void Forget()
    {
        _conns.Clear();
        _inbound.Clear();
        _early.Clear();
    }

    /// <inheritdoc/>
    public override void Observe(in DecodedFrame f)
    {
        if (f.Transport != TransportKind.Tcp) return;
        if (f.IpSrc == Target.Ip)
        {
            if (!Target.IsFrom(f)) return; // its address from another MAC: not the target
            if (f.IsSyn)
            {
                var key = new ConnKey(f.IpDst, f.SrcPort, f.DstPort, f.TcpSeq);
                if (!_conns.TryGet(key, out var peerIsn, out var stamp)) _conns.Set(key, null, f.Time);
                else if (peerIsn is not null && f.Time - stamp <= Options.RepeatWindow.Ticks) Emit(EvidenceKind.SynRetransmittedAfterSynAck, f.Time);
            }
            else if (f.IsSynAck)
            {
                var key = new ConnKey(f.IpDst, f.SrcPort, f.DstPort, f.TcpAck - 1);
                if (_inbound.TryGet(key, out _, out _))
                {
                    _inbound.Remove(key);
                    Emit(EvidenceKind.TcpAnsweredByTarget, f.Time);
                }
                else
                {
                    _early.Set(key, 0, f.Time);
                }
            }
            else if ((f.TcpFlags & (Ack | Rst)) != 0)
            {
                var key = new ConnKey(f.IpDst, f.SrcPort, f.DstPort, f.TcpSeq - 1);
                if (_conns.TryGet(key, out var peerIsn, out _) && peerIsn is { } isn && ((f.TcpFlags & Rst) != 0 || f.TcpAck == isn + 1))
                {
                    _conns.Remove(key);
                    Emit(EvidenceKind.TcpAnsweredByTarget, f.Time);
                }
            }
        }
        else if (f.IpDst == Target.Ip && !Target.IsDeliveredTo(f))
        {
            // Sent to another MAC holding its address: it never reached the target.
        }
        else if (f.IpDst == Target.Ip && f.IsSyn)
        {
            var key = new ConnKey(f.IpSrc, f.DstPort, f.SrcPort, f.TcpSeq);
            if (_early.TryGet(key, out _, out var answeredAt))
            {
                _early.Remove(key);
                Emit(EvidenceKind.TcpAnsweredByTarget, answeredAt);
            }
            else if (!_inbound.TryGet(key, out _, out _))
            {
                _inbound.Set(key, 0, f.Time);
            }
        }
        else if (f.IpDst == Target.Ip && f.IsSynAck)
        {
            var key = new ConnKey(f.IpSrc, f.DstPort, f.SrcPort, f.TcpAck - 1);
            if (_conns.TryGet(key, out var peerIsn, out _) && peerIsn is null) _conns.Set(key, f.TcpSeq, f.Time);
        }
    }

    /// <inheritdoc/>
    public override void Expire(long now)
    {
        _conns.Expire(now - Options.RepeatWindow.Ticks, null);
        _inbound.Expire(now - Options.RepeatWindow.Ticks, null);
        _early.Expire(now - Options.ReplyTimeout.Ticks, null);
    }
}
