using ReachProbe.Verdict;

namespace ReachProbe.Wire.Trackers;

/// <summary>
/// Signature 4: a SYN from the target retransmitted after the peer's SYN/ACK for it was on the wire. A SYN/ACK is only
/// matched to a SYN seen before it, so a SYN/ACK captured ahead of its SYN (reordering) never makes the SYN a
/// retransmission. The target completing the handshake (ACK or RST for the SYN/ACK), or answering a SYN with SYN/ACK,
/// is proof that it receives.
/// </summary>
public sealed class SynRetransmitTracker(TargetIdentity target, IEvidenceSink sink, VerdictOptions options, int capacity = SignatureTracker.DefaultTableCapacity)
    : SignatureTracker(target, sink, options)
{
    private readonly record struct ConnKey(uint Peer, ushort LocalPort, ushort PeerPort, uint Isn);

    // Value: the peer's ISN once its SYN/ACK was seen, or null while the SYN is pending; stamp: SYN or SYN/ACK time.
    private readonly BoundedTable<ConnKey, uint?> _conns = new(capacity);

    private const byte Ack = 0x10, Rst = 0x04;

    /// <inheritdoc/>
    public override long Evicted => _conns.Evicted;

    /// <inheritdoc/>
    public override void Observe(in DecodedFrame f)
    {
        if (f.Transport != TransportKind.Tcp) return;
        if (f.IpSrc == Target.Ip)
        {
            if (f.IsSyn)
            {
                var key = new ConnKey(f.IpDst, f.SrcPort, f.DstPort, f.TcpSeq);
                if (!_conns.TryGet(key, out var peerIsn, out var stamp)) _conns.Set(key, null, f.Time);
                else if (peerIsn is not null && f.Time - stamp <= Options.RepeatWindow.Ticks) Emit(EvidenceKind.SynRetransmittedAfterSynAck, f.Time);
            }
            else if (f.IsSynAck)
            {
                Emit(EvidenceKind.TcpAnsweredByTarget, f.Time);
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
        else if (f.IpDst == Target.Ip && f.IsSynAck)
        {
            var key = new ConnKey(f.IpSrc, f.DstPort, f.SrcPort, f.TcpAck - 1);
            if (_conns.TryGet(key, out var peerIsn, out _) && peerIsn is null) _conns.Set(key, f.TcpSeq, f.Time);
        }
    }

    /// <inheritdoc/>
    public override void Expire(long now) => _conns.Expire(now - Options.RepeatWindow.Ticks, null);
}
