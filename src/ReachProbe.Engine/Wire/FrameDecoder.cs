using System.Buffers.Binary;

namespace ReachProbe.Wire;

/// <summary>
/// Turns raw frame bytes into a <see cref="DecodedFrame"/>. Pure and allocation-free: it runs once per
/// captured frame, so it reads spans directly instead of building PacketDotNet objects. Malformed input
/// is reported through <see cref="DecodedFrame.Issue"/>, never thrown.
/// </summary>
public static class FrameDecoder
{
    private const ushort EtherTypeIPv4 = 0x0800, EtherTypeArp = 0x0806, EtherTypeIPv6 = 0x86DD;
    private const ushort EtherTypeVlan = 0x8100, EtherTypeQinQ = 0x88A8, EtherTypeQinQOld = 0x9100;

    /// <summary>Decodes one frame of the given link type. Returns false when the link header itself is cut short.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static bool TryDecode(LinkKind link, ReadOnlySpan<byte> data, long time, out DecodedFrame frame)
    {
        frame = default;
        frame.Time = time;
        int offset;
        ushort etherType;
        switch (link)
        {
            case LinkKind.Ethernet:
                if (data.Length < 14) return Fail(ref frame, DecodeIssue.TruncatedLinkHeader);
                frame.DstMac = ReadMac(data);
                frame.SrcMac = ReadMac(data[6..]);
                etherType = BinaryPrimitives.ReadUInt16BigEndian(data[12..]);
                offset = 14;
                // Up to two tags: 802.1Q, and 802.1ad QinQ outside it.
                for (var tags = 0; tags < 2 && etherType is EtherTypeVlan or EtherTypeQinQ or EtherTypeQinQOld; tags++)
                {
                    if (data.Length < offset + 4) return Fail(ref frame, DecodeIssue.TruncatedLinkHeader);
                    etherType = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 2)..]);
                    offset += 4;
                }
                break;
            case LinkKind.LinuxSll:
                // packet type(2) ARPHRD(2) address length(2) address(8) protocol(2)
                if (data.Length < 16) return Fail(ref frame, DecodeIssue.TruncatedLinkHeader);
                SetSllAddresses(ref frame, BinaryPrimitives.ReadUInt16BigEndian(data), BinaryPrimitives.ReadUInt16BigEndian(data[4..]), data[6..14]);
                etherType = BinaryPrimitives.ReadUInt16BigEndian(data[14..]);
                offset = 16;
                break;
            case LinkKind.LinuxSll2:
                // protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) address length(1) address(8)
                if (data.Length < 20) return Fail(ref frame, DecodeIssue.TruncatedLinkHeader);
                SetSllAddresses(ref frame, data[10], data[11], data[12..20]);
                etherType = BinaryPrimitives.ReadUInt16BigEndian(data);
                offset = 20;
                break;
            default:
                return Fail(ref frame, DecodeIssue.TruncatedLinkHeader);
        }

        var payload = data[offset..];
        switch (etherType)
        {
            case EtherTypeArp: DecodeArp(payload, ref frame); break;
            case EtherTypeIPv4: DecodeIPv4(payload, ref frame); break;
            case EtherTypeIPv6: DecodeIPv6(payload, ref frame); break;
        }
        return true;
    }

    private static bool Fail(ref DecodedFrame frame, DecodeIssue issue)
    {
        frame.Issue = issue;
        return false;
    }

    private static void SetSllAddresses(ref DecodedFrame frame, int packetType, int addressLength, ReadOnlySpan<byte> address)
    {
        if (addressLength == 6) frame.SrcMac = ReadMac(address);
        // SLL packet types: 0 to us, 1 broadcast, 2 multicast, 3 to someone else, 4 sent by us.
        if (packetType == 1) frame.DstMac = DecodedFrame.BroadcastMac;
    }

    internal static ulong ReadMac(ReadOnlySpan<byte> b) =>
        ((ulong)BinaryPrimitives.ReadUInt16BigEndian(b) << 32) | BinaryPrimitives.ReadUInt32BigEndian(b[2..]);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void DecodeArp(ReadOnlySpan<byte> p, ref DecodedFrame frame)
    {
        if (p.Length < 8) { frame.Issue = DecodeIssue.TruncatedArp; return; }
        var htype = BinaryPrimitives.ReadUInt16BigEndian(p);
        var ptype = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        if (htype != 1 || ptype != EtherTypeIPv4 || p[4] != 6 || p[5] != 4) { frame.Issue = DecodeIssue.UnsupportedArp; return; }
        if (p.Length < 28) { frame.Issue = DecodeIssue.TruncatedArp; return; }
        frame.Kind = FrameKind.Arp;
        frame.ArpOp = BinaryPrimitives.ReadUInt16BigEndian(p[6..]);
        frame.ArpSenderMac = ReadMac(p[8..]);
        frame.ArpSenderIp = BinaryPrimitives.ReadUInt32BigEndian(p[14..]);
        frame.ArpTargetMac = ReadMac(p[18..]);
        frame.ArpTargetIp = BinaryPrimitives.ReadUInt32BigEndian(p[24..]);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void DecodeIPv4(ReadOnlySpan<byte> p, ref DecodedFrame frame)
    {
        if (p.Length < 20 || (p[0] >> 4) != 4) { frame.Issue = DecodeIssue.BadIpv4Header; return; }
        var ihl = (p[0] & 0x0F) * 4;
        if (ihl < 20 || p.Length < ihl) { frame.Issue = DecodeIssue.BadIpv4Header; return; }
        frame.Kind = FrameKind.IPv4;
        frame.IpProtocol = p[9];
        frame.IpSrc = BinaryPrimitives.ReadUInt32BigEndian(p[12..]);
        frame.IpDst = BinaryPrimitives.ReadUInt32BigEndian(p[16..]);
        // Only the first fragment carries the transport header.
        if ((BinaryPrimitives.ReadUInt16BigEndian(p[6..]) & 0x1FFF) != 0) return;
        // Trust the capture over a total-length field that overstates it, but drop Ethernet padding.
        var total = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        // Total length 0 is what TCP segmentation offload leaves in locally captured frames: use the capture.
        if (total != 0 && total < ihl) { frame.Issue = DecodeIssue.BadIpv4Header; return; }
        var end = total == 0 ? p.Length : Math.Min(total, p.Length);
        var l4 = p[ihl..end];
        switch (frame.IpProtocol)
        {
            case 1: DecodeIcmp(l4, ref frame); break;
            case 6: DecodeTcp(l4, ref frame); break;
            case 17: DecodeUdp(l4, ref frame); break;
        }
    }

    private static UInt128 ReadIPv6(ReadOnlySpan<byte> b) => Addresses.ReadIPv6(b);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void DecodeIPv6(ReadOnlySpan<byte> p, ref DecodedFrame frame)
    {
        if (p.Length < 40 || (p[0] >> 4) != 6) { frame.Issue = DecodeIssue.BadIpv6Header; return; }
        frame.Kind = FrameKind.IPv6;
        frame.IpSrc = ReadIPv6(p[8..]);
        frame.IpDst = ReadIPv6(p[24..]);
        // Payload length 0 is a jumbogram or what segmentation offload leaves in local captures: use the capture.
        var length = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
        var end = length == 0 ? p.Length : Math.Min(40 + length, p.Length);
        var next = p[6];
        var offset = 40;
        // Extension headers (RFC 8200 §4): hop-by-hop (MLD), routing, destination options, fragment, AH — a bounded walk.
        for (var headers = 0; headers < 8 && next is 0 or 43 or 44 or 51 or 60; headers++)
        {
            if (offset + 8 > end) { frame.Issue = DecodeIssue.BadIpv6Header; return; }
            var h = p[offset..];
            if (next == 44)
            {
                // Only the first fragment carries the transport header.
                if ((BinaryPrimitives.ReadUInt16BigEndian(h[2..]) & 0xFFF8) != 0) { frame.IpProtocol = h[0]; return; }
                next = h[0];
                offset += 8;
                continue;
            }
            var size = next == 51 ? (h[1] + 2) * 4 : (h[1] + 1) * 8;
            next = h[0];
            offset += size;
        }
        if (offset > end) { frame.Issue = DecodeIssue.BadIpv6Header; return; }
        frame.IpProtocol = next;
        var l4 = p[offset..end];
        switch (next)
        {
            case 58: DecodeIcmpV6(l4, ref frame); break;
            case 6: DecodeTcp(l4, ref frame); break;
            case 17: DecodeUdp(l4, ref frame); break;
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void DecodeIcmpV6(ReadOnlySpan<byte> p, ref DecodedFrame frame)
    {
        if (p.Length < 8) { frame.Issue = DecodeIssue.TruncatedTransport; return; }
        frame.IcmpCode = p[1];
        switch (p[0])
        {
            case 128 or 129:
                frame.Transport = TransportKind.IcmpEcho;
                frame.IcmpType = p[0] == 128 ? (byte)8 : (byte)0;
                frame.IcmpId = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
                frame.IcmpSeq = BinaryPrimitives.ReadUInt16BigEndian(p[6..]);
                return;
            case 135 or 136:
                DecodeNdp(p, ref frame);
                return;
        }
        frame.Transport = TransportKind.IcmpOther;
        // In ICMPv4's numbers: destination unreachable 3, time exceeded 11, parameter problem 12; the rest keep theirs
        // (2, packet too big, and the informational types from 128 on collide with no ICMPv4 type the trackers read).
        frame.IcmpType = p[0] switch { 1 => 3, 3 => 11, 4 => 12, var t => t };
        // A destination unreachable quotes as much of the offending packet as fits (RFC 4443): when that was an echo
        // request, its identifier and sequence say which attempt was refused.
        var quoted = p[8..];
        if (p[0] == 1 && quoted.Length >= 48 && quoted[0] >> 4 == 6 && quoted[6] == 58 && quoted[40] == 128)
        {
            frame.IcmpId = BinaryPrimitives.ReadUInt16BigEndian(quoted[44..]);
            frame.IcmpSeq = BinaryPrimitives.ReadUInt16BigEndian(quoted[46..]);
        }
    }

    /// <summary>
    /// A neighbour solicitation (135) or advertisement (136), RFC 4861 §4.3–4.4, into the ARP fields: see
    /// <see cref="FrameKind.Ndp"/>. The link-layer address options give the sender's MAC; without one, the frame's source.
    /// </summary>
    private static void DecodeNdp(ReadOnlySpan<byte> p, ref DecodedFrame frame)
    {
        if (p.Length < 24) { frame.Issue = DecodeIssue.BadNdp; return; }
        var solicitation = p[0] == 135;
        var target = ReadIPv6(p[8..]);
        var option = solicitation ? 1 : 2; // source or target link-layer address
        var mac = frame.SrcMac;
        for (var o = 24; o + 2 <= p.Length;)
        {
            var len = p[o + 1] * 8;
            if (len == 0 || o + len > p.Length) { frame.Issue = DecodeIssue.BadNdp; return; }
            if (p[o] == option && len >= 8) mac = ReadMac(p[(o + 2)..]);
            o += len;
        }
        frame.Kind = FrameKind.Ndp;
        frame.IcmpType = p[0];
        frame.ArpSenderMac = mac;
        if (solicitation)
        {
            frame.ArpOp = 1;
            frame.ArpSenderIp = frame.IpSrc;
            frame.ArpTargetIp = target;
            return;
        }
        frame.ArpOp = 2;
        frame.ArpSenderIp = target;
        var toGroup = frame.IpDst >> 120 == 0xFF;
        frame.ArpTargetIp = toGroup ? target : frame.IpDst;
        frame.ArpTargetMac = toGroup ? 0 : frame.DstMac;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void DecodeIcmp(ReadOnlySpan<byte> p, ref DecodedFrame frame)
    {
        if (p.Length < 8) { frame.Issue = DecodeIssue.TruncatedTransport; return; }
        frame.IcmpType = p[0];
        frame.IcmpCode = p[1];
        if (p[0] is 0 or 8)
        {
            frame.Transport = TransportKind.IcmpEcho;
            frame.IcmpId = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
            frame.IcmpSeq = BinaryPrimitives.ReadUInt16BigEndian(p[6..]);
        }
        else
        {
            frame.Transport = TransportKind.IcmpOther;
            // A destination unreachable quotes the IPv4 header and first 8 bytes of what it is about (RFC 792): when
            // that was an echo request, its identifier and sequence say which attempt was refused.
            var quoted = p[8..];
            if (p[0] == 3 && quoted.Length >= 28 && quoted[0] >> 4 == 4 && quoted[9] == 1)
            {
                var ihl = (quoted[0] & 0x0F) * 4;
                if (ihl >= 20 && quoted.Length >= ihl + 8 && quoted[ihl] == 8)
                {
                    frame.IcmpId = BinaryPrimitives.ReadUInt16BigEndian(quoted[(ihl + 4)..]);
                    frame.IcmpSeq = BinaryPrimitives.ReadUInt16BigEndian(quoted[(ihl + 6)..]);
                }
            }
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void DecodeTcp(ReadOnlySpan<byte> p, ref DecodedFrame frame)
    {
        if (p.Length < 20) { frame.Issue = DecodeIssue.TruncatedTransport; return; }
        frame.Transport = TransportKind.Tcp;
        frame.SrcPort = BinaryPrimitives.ReadUInt16BigEndian(p);
        frame.DstPort = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        frame.TcpSeq = BinaryPrimitives.ReadUInt32BigEndian(p[4..]);
        frame.TcpAck = BinaryPrimitives.ReadUInt32BigEndian(p[8..]);
        frame.TcpFlags = p[13];
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void DecodeUdp(ReadOnlySpan<byte> p, ref DecodedFrame frame)
    {
        if (p.Length < 8) { frame.Issue = DecodeIssue.TruncatedTransport; return; }
        frame.Transport = TransportKind.Udp;
        frame.SrcPort = BinaryPrimitives.ReadUInt16BigEndian(p);
        frame.DstPort = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        if (frame.SrcPort == 53 || frame.DstPort == 53) DecodeDns(p[8..], ref frame);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void DecodeDns(ReadOnlySpan<byte> p, ref DecodedFrame frame)
    {
        if (p.Length < 12) { frame.Issue = DecodeIssue.BadDns; return; }
        var flags = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        var qdcount = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
        if (qdcount == 0) { frame.Issue = DecodeIssue.BadDns; return; }
        if (!TryHashName(p, 12, out var hash, out var afterName) || afterName + 4 > p.Length)
        {
            frame.Issue = DecodeIssue.BadDns;
            return;
        }
        frame.Transport = TransportKind.Dns;
        frame.DnsId = BinaryPrimitives.ReadUInt16BigEndian(p);
        frame.DnsIsResponse = (flags & 0x8000) != 0;
        frame.DnsRcode = (byte)(flags & 0x000F);
        frame.DnsQnameHash = hash;
        frame.DnsQtype = BinaryPrimitives.ReadUInt16BigEndian(p[afterName..]);
    }

    /// <summary>
    /// Hashes a DNS name (RFC 1035 §4.1.4, with compression pointers) case-insensitively. Bounded: at most
    /// 128 labels and 255 name bytes, so a pointer loop or an over-long name is rejected rather than followed.
    /// </summary>
    internal static bool TryHashName(ReadOnlySpan<byte> msg, int pos, out ulong hash, out int end)
    {
        const ulong fnvOffset = 14695981039346656037UL, fnvPrime = 1099511628211UL;
        hash = fnvOffset;
        end = -1;
        var nameBytes = 0;
        for (var labels = 0; labels < 128; labels++)
        {
            if (pos >= msg.Length) return false;
            var len = msg[pos];
            if (len == 0)
            {
                if (end < 0) end = pos + 1;
                return true;
            }
            if ((len & 0xC0) == 0xC0)
            {
                if (pos + 1 >= msg.Length) return false;
                if (end < 0) end = pos + 2;
                var target = ((len & 0x3F) << 8) | msg[pos + 1];
                if (target >= pos) return false; // pointers must point backwards
                pos = target;
                continue;
            }
            if ((len & 0xC0) != 0) return false;
            nameBytes += len + 1;
            if (nameBytes > 255 || pos + 1 + len > msg.Length) return false;
            hash = (hash ^ len) * fnvPrime;
            foreach (var c in msg.Slice(pos + 1, len))
            {
                var folded = c is >= (byte)'A' and <= (byte)'Z' ? (byte)(c | 0x20) : c;
                hash = (hash ^ folded) * fnvPrime;
            }
            pos += 1 + len;
        }
        return false;
    }
}
