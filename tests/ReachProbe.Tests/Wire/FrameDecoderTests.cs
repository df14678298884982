
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

    [Fact]
    public void TryDecode_IPv6_IsCountedNotAnalysed()
    {
        var frame = new byte[14 + 40];
        frame[12] = 0x86; frame[13] = 0xDD;
        var f = Decode(frame, 0);
        Assert.True(f.IsIPv6);
        Assert.Equal(FrameKind.Other, f.Kind);
    }
}
