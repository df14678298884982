
namespace ReachProbe.Tests.Wire;

public class FrameDecoderTests
{
    [Fact]
    public void TryDecode_ArpRequest_ReadsAllAddresses()
    {
        var f = Decode(Frames.ArpRequest(Pc, GameConsole.Ip), 1);
        Assert.Equal(FrameKind.Arp, f.Kind);
        Assert.Equal(1, f.ArpOp);
        Assert.Equal(Ip(Pc.Ip), f.ArpSenderIp);
        Assert.Equal(Mac(Pc.Mac), f.ArpSenderMac);
        Assert.Equal(Ip(GameConsole.Ip), f.ArpTargetIp);
        Assert.Equal(DecodedFrame.BroadcastMac, f.DstMac);
        Assert.Equal(Mac(Pc.Mac), f.SrcMac);
        Assert.False(f.IsGratuitousArp);
        Assert.Equal(At(1), f.Time);
    }

    [Fact]
    public void TryDecode_DestinationUnreachableAboutAnEcho_ReadsTheQuotedIdAndSequence()
    {
        var f = Decode(Frames.EchoRefused(GameConsole, Pc, 0x1234, 77), 0);
        Assert.Equal(TransportKind.IcmpOther, f.Transport);
        Assert.Equal((3, 13), (f.IcmpType, f.IcmpCode));
        Assert.Equal((0x1234, 77), (f.IcmpId, f.IcmpSeq));
        Assert.Equal(Ip(GameConsole.Ip), f.IpSrc);
        // Cut inside the quote: no sequence is made up.
        var cut = Frames.EchoRefused(GameConsole, Pc, 0x1234, 77);
        var g = Decode(cut.AsSpan(0, cut.Length - 4).ToArray(), 0);
        Assert.Equal((0, 0), (g.IcmpId, g.IcmpSeq));
    }

    [Fact]
    public void TryDecode_GratuitousArp_IsFlagged()
    {
        Assert.True(Decode(Frames.GratuitousArp(GameConsole), 0).IsGratuitousArp);
    }

    [Fact]
    public void TryDecode_EchoRequest_ReadsIdAndSequence()
    {
        var f = Decode(Frames.EchoRequest(Pc, GameConsole, 0x1234, 77), 0);
        Assert.Equal(FrameKind.IPv4, f.Kind);
        Assert.Equal(TransportKind.IcmpEcho, f.Transport);
        Assert.Equal(8, f.IcmpType);
        Assert.Equal(0x1234, f.IcmpId);
        Assert.Equal(77, f.IcmpSeq);
        Assert.Equal(Ip(Pc.Ip), f.IpSrc);
        Assert.Equal(Ip(GameConsole.Ip), f.IpDst);
    }

    [Fact]
    public void TryDecode_DnsQueryAndResponse_MatchOnIdNameAndType()
    {
        var q = Decode(Frames.DnsQuery(GameConsole, Router, 40000, 0xBEEF, "Store.PlayStation.lan"), 0);
        var r = Decode(Frames.DnsResponse(Router, GameConsole, 40000, 0xBEEF, "store.playstation.LAN"), 0);
        var other = Decode(Frames.DnsQuery(GameConsole, Router, 40000, 0xBEEF, "store.playstation.lan", type: 28), 0);
        Assert.Equal(TransportKind.Dns, q.Transport);
        Assert.False(q.DnsIsResponse);
        Assert.True(r.DnsIsResponse);
        Assert.Equal(0xBEEF, q.DnsId);
        Assert.Equal(q.DnsQnameHash, r.DnsQnameHash); // names compare case-insensitively
        Assert.Equal(1, q.DnsQtype);
        Assert.Equal(28, other.DnsQtype);
    }

    [Fact]
    public void TryHashName_PointerLoop_IsRejected()
    {
        // Header, then a name that is a pointer to itself.
        var msg = new byte[] { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1 };
        Assert.False(FrameDecoder.TryHashName(msg, 12, out _, out _));
    }

    [Fact]
    public void TryDecode_DnsWithoutQuestion_IsBadDns()
    {
        var payload = new byte[12];
        var f = Decode(Frames.Udp(GameConsole, Router, 40000, 53, payload), 0);
        Assert.Equal(DecodeIssue.BadDns, f.Issue);
        Assert.NotEqual(TransportKind.Dns, f.Transport);
    }

    [Fact]
    public void TryDecode_TcpSynAndSynAck_AreDistinguished()
    {
        var syn = Decode(Frames.Tcp(GameConsole, Http, 50000, 80, 1000, 0, 0x02), 0);
        var synAck = Decode(Frames.Tcp(Http, GameConsole, 80, 50000, 9000, 1001, 0x12), 0);
        Assert.True(syn.IsSyn);
        Assert.False(syn.IsSynAck);
        Assert.True(synAck.IsSynAck);
        Assert.Equal(1000u, syn.TcpSeq);
        Assert.Equal(1001u, synAck.TcpAck);
    }

    [Theory]
    [InlineData(10, DecodeIssue.TruncatedLinkHeader)]
    [InlineData(14 + 12, DecodeIssue.BadIpv4Header)]
    [InlineData(14 + 20 + 4, DecodeIssue.TruncatedTransport)]
    public void TryDecode_TruncatedEcho_ReportsWhereItStopped(int keep, DecodeIssue expected)
    {
        var full = Frames.EchoRequest(Pc, GameConsole, 1, 1);
        FrameDecoder.TryDecode(LinkKind.Ethernet, full.AsSpan(0, keep), 0, out var f);
        Assert.Equal(expected, f.Issue);
        Assert.NotEqual(TransportKind.IcmpEcho, f.Transport);
    }

    [Fact]
    public void TryDecode_TruncatedArp_IsNotArp()
    {
        var full = Frames.ArpRequest(Pc, GameConsole.Ip);
        FrameDecoder.TryDecode(LinkKind.Ethernet, full.AsSpan(0, 14 + 20), 0, out var f);
        Assert.Equal(DecodeIssue.TruncatedArp, f.Issue);
        Assert.Equal(FrameKind.Other, f.Kind);
    }

    [Fact]
    public void TryDecode_VlanTaggedFrame_DecodesInnerIPv4()
    {
        var plain = Frames.EchoRequest(Pc, GameConsole, 5, 6);
        var tagged = plain[..12].Concat(new byte[] { 0x81, 0x00, 0x00, 0x0A }).Concat(plain[12..]).ToArray();
        var f = Decode(tagged, 0);
        Assert.Equal(TransportKind.IcmpEcho, f.Transport);
        Assert.Equal(5, f.IcmpId);
    }

    [Fact]
    public void TryDecode_LinuxSll_TakesSourceAddressAndBroadcastType()
    {
        var eth = Frames.ArpRequest(Pc, GameConsole.Ip);
        var sll = new byte[16];
        sll[1] = 1; // broadcast
        sll[3] = 1; // ARPHRD_ETHER
        sll[5] = 6;
        eth.AsSpan(6, 6).CopyTo(sll.AsSpan(6));
        sll[14] = 0x08; sll[15] = 0x06;
        var frame = sll.Concat(eth[14..]).ToArray();
        Assert.True(FrameDecoder.TryDecode(LinkKind.LinuxSll, frame, 0, out var f));
        Assert.Equal(FrameKind.Arp, f.Kind);
        Assert.Equal(Mac(Pc.Mac), f.SrcMac);
        Assert.Equal(DecodedFrame.BroadcastMac, f.DstMac);
    }

    [Fact]
    public void TryDecode_LinuxSll2_ReadsProtocolFirst()
    {
        var eth = Frames.EchoReply(GameConsole, Pc, 9, 10);
        var sll2 = new byte[20];
        sll2[0] = 0x08; sll2[1] = 0x00;
        sll2[9] = 1; // ARPHRD_ETHER
        sll2[10] = 0; // to us
        sll2[11] = 6;
        eth.AsSpan(6, 6).CopyTo(sll2.AsSpan(12));
        Assert.True(FrameDecoder.TryDecode(LinkKind.LinuxSll2, sll2.Concat(eth[14..]).ToArray(), 0, out var f));
        Assert.Equal(TransportKind.IcmpEcho, f.Transport);
        Assert.Equal(Mac(GameConsole.Mac), f.SrcMac);
        Assert.Equal(0UL, f.DstMac);
    }

    [Fact]
    public void TryDecode_NonFirstFragment_HasNoTransport()
    {
        var frame = Frames.EchoRequest(Pc, GameConsole, 1, 1);
        frame[14 + 6] = 0x00;
        frame[14 + 7] = 0x10; // fragment offset 16 × 8 bytes
        var f = Decode(frame, 0);
        Assert.Equal(FrameKind.IPv4, f.Kind);
        Assert.Equal(TransportKind.None, f.Transport);
    }

    // The field report's hosts over IPv6 (documentation prefix), same MACs.
    private static readonly LanHost Pc6 = new("2001:db8:1::12", Pc.Mac), Console6 = new("2001:db8:1::27", GameConsole.Mac);

    [Fact]
    public void TryDecode_IcmpV6Echo_ReadsAsAnEchoInIcmpV4Numbers()
    {
        var request = Decode(Frames.EchoRequest(Pc6, Console6, 0x0102, 9), 0);
        Assert.Equal(FrameKind.IPv6, request.Kind);
        Assert.True(request.IsIPv6 && request.IsIp && !request.IsNeighbour);
        Assert.Equal((58, TransportKind.IcmpEcho, 8), (request.IpProtocol, request.Transport, request.IcmpType));
        Assert.Equal((0x0102, 9), (request.IcmpId, request.IcmpSeq));
        Assert.Equal(Key("2001:db8:1::12"), request.IpSrc);
        Assert.Equal(Key("2001:db8:1::27"), request.IpDst);
        Assert.Equal("2001:db8:1::27", Addresses.Ip(request.IpDst));
        var reply = Decode(Frames.EchoReply(Console6, Pc6, 0x0102, 9), 0);
        Assert.Equal((TransportKind.IcmpEcho, 0), (reply.Transport, reply.IcmpType));
    }

    [Fact]
    public void TryDecode_NeighbourSolicitation_ReadsAsAnArpRequest()
    {
        var f = Decode(Frames.ArpRequest(Pc6, Console6.Ip), 0);
        Assert.Equal(FrameKind.Ndp, f.Kind);
        Assert.True(f.IsNeighbour && f.IsIPv6 && !f.IsIp);
        Assert.Equal(1, f.ArpOp);
        Assert.Equal(Key(Pc6.Ip), f.ArpSenderIp);
        Assert.Equal(Mac(Pc.Mac), f.ArpSenderMac);
        Assert.Equal(Key(Console6.Ip), f.ArpTargetIp);
        Assert.True(f.IsGroupDestination); // to the solicited-node group, 33:33:ff:00:00:27
        Assert.Equal(0x3333_FF00_0027UL, f.DstMac);
        Assert.False(f.IsGratuitousArp);
        var unicast = Decode(Frames.ArpRequest(Pc6, Console6.Ip, unicastTo: Console6), 0);
        Assert.False(unicast.IsGroupDestination);
        Assert.Equal(Key(Console6.Ip), unicast.IpDst);
    }

    [Fact]
    public void TryDecode_DuplicateAddressDetection_ReadsAsAnArpProbe()
    {
        var f = Decode(Frames.NeighbourSolicitation(Console6, Console6.Address, dad: true), 0);
        Assert.Equal((FrameKind.Ndp, 1), (f.Kind, f.ArpOp));
        Assert.Equal(UInt128.Zero, f.ArpSenderIp); // from ::, as an ARP probe is from 0.0.0.0
        Assert.Equal(Mac(GameConsole.Mac), f.ArpSenderMac); // no option: the frame's source
        Assert.False(f.IsGratuitousArp);
    }

    [Fact]
    public void TryDecode_NeighbourAdvertisement_ReadsAsAnArpReply()
    {
        var f = Decode(Frames.ArpReply(Console6, Pc6), 0);
        Assert.Equal((FrameKind.Ndp, 2), (f.Kind, f.ArpOp));
        Assert.Equal(Key(Console6.Ip), f.ArpSenderIp);
        Assert.Equal(Mac(GameConsole.Mac), f.ArpSenderMac);
        Assert.Equal(Key(Pc6.Ip), f.ArpTargetIp);
        Assert.Equal(Mac(Pc.Mac), f.ArpTargetMac);
        Assert.False(f.IsGratuitousArp);
    }

    [Fact]
    public void TryDecode_UnsolicitedAdvertisement_IsTheGratuitousArpTwin()
    {
        var f = Decode(Frames.GratuitousArp(Console6), 0);
        Assert.Equal((FrameKind.Ndp, 2), (f.Kind, f.ArpOp));
        Assert.Equal(Key(Console6.Ip), f.ArpSenderIp);
        Assert.Equal(f.ArpSenderIp, f.ArpTargetIp);
        Assert.True(f.IsGratuitousArp);
        // The advertised MAC is the option's, not the frame's: a proxy or a spoofer names it.
        var other = Frames.NeighbourAdvertisement(new LanHost(Console6.Ip, "02:00:00:00:00:99"), Console6.Hardware, Console6.Address, solicited: false);
        Assert.Equal(0x0200_0000_0099UL, Decode(other, 0).ArpSenderMac);
    }

    [Fact]
    public void TryDecode_DnsAndTcpOverIPv6_ReadAsOverIPv4()
    {
        var q = Decode(Frames.DnsQuery(Console6, Pc6, 40000, 0x77, "store.playstation.lan"), 0);
        Assert.Equal((FrameKind.IPv6, TransportKind.Dns, 0x77), (q.Kind, q.Transport, q.DnsId));
        Assert.Equal(Decode(Frames.DnsQuery(GameConsole, Pc, 40000, 0x77, "store.playstation.lan"), 0).DnsQnameHash, q.DnsQnameHash);
        var syn = Decode(Frames.Tcp(Console6, Pc6, 50000, 80, 1000, 0, 0x02), 0);
        Assert.True(syn.IsSyn);
        Assert.Equal((50000, 80, 1000u), (syn.SrcPort, syn.DstPort, syn.TcpSeq));
    }

    [Fact]
    public void TryDecode_IPv6ExtensionHeaders_AreWalked()
    {
        // A hop-by-hop header (8 bytes, as MLD reports carry) before the ICMPv6 echo.
        var echo = Frames.EchoRequest(Pc6, Console6, 1, 2);
        var frame = new byte[echo.Length + 8];
        echo.AsSpan(0, 54).CopyTo(frame);
        echo.AsSpan(54).CopyTo(frame.AsSpan(62));
        frame[20] = 0;          // next header: hop-by-hop
        frame[54] = 58;         // its next header: ICMPv6
        frame[19] += 8;         // payload length
        var f = Decode(frame, 0);
        Assert.Equal((TransportKind.IcmpEcho, 8, 2), (f.Transport, f.IcmpType, f.IcmpSeq));
        // A non-first fragment carries no transport header.
        var fragment = (byte[])frame.Clone();
        fragment[54] = 58; fragment[20] = 44; fragment[56] = 0x00; fragment[57] = 0x08; // offset 1 × 8 bytes
        Assert.Equal(TransportKind.None, Decode(fragment, 0).Transport);
        // A header chain that runs past the capture is malformed, not read past its end.
        frame[55] = 200;
        Assert.Equal(DecodeIssue.BadIpv6Header, Decode(frame, 0).Issue);
    }

    [Fact]
    public void TryDecode_MalformedIPv6_IsNamedNeverThrown()
    {
        var frame = new byte[14 + 40];
        frame[12] = 0x86; frame[13] = 0xDD;
        Assert.Equal(DecodeIssue.BadIpv6Header, Decode(frame, 0).Issue); // version 0
        frame[14] = 0x60;
        Assert.Equal(FrameKind.IPv6, Decode(frame, 0).Kind);
        Assert.Equal(DecodeIssue.BadIpv6Header, Decode(frame[..40], 0).Issue);
        // A neighbour solicitation whose option says length 0 (RFC 4861 §4.6: discard).
        var ns = Frames.ArpRequest(Pc6, Console6.Ip);
        ns[14 + 40 + 25] = 0;
        var bad = Decode(ns, 0);
        Assert.Equal((DecodeIssue.BadNdp, FrameKind.IPv6), (bad.Issue, bad.Kind));
        // Cut inside its fixed part.
        Assert.Equal(DecodeIssue.BadNdp, Decode(ns[..(14 + 40 + 20)], 0).Issue);
        // Every length and every byte: never an exception (a fuzz of the header and the messages).
        var rng = new Random(6);
        foreach (var sample in new[] { ns, Frames.GratuitousArp(Console6), Frames.EchoRequest(Pc6, Console6, 1, 1) })
            for (var i = 0; i < 2000; i++)
            {
                var copy = sample[..rng.Next(0, sample.Length + 1)];
                if (copy.Length > 14) copy[rng.Next(14, copy.Length)] = (byte)rng.Next(256);
                FrameDecoder.TryDecode(LinkKind.Ethernet, copy, 0, out _);
            }
    }

    [Fact]
    public void TryDecode_IPv6AddressesThatReadAsIPv4_AreUnspecified()
    {
        // ::198.18.0.27 (IPv4-compatible, deprecated) must never be taken for the IPv4 host 198.18.0.27.
        var f = Decode(Frames.EchoRequest(new LanHost("::198.18.0.12", Pc.Mac), Console6, 1, 1), 0);
        Assert.Equal(UInt128.Zero, f.IpSrc);
        Assert.False(WirePipeline.IsUnicast(f.IpSrc));
        Assert.True(WirePipeline.IsUnicast(f.IpDst));
        Assert.False(WirePipeline.IsUnicast(Key("ff02::1")));
    }
}
