using System.Buffers.Binary;
using ReachProbe.Probes;

namespace ReachProbe.Tests.Probes;

public class IcmpPacketTests
{
    private static readonly uint Target = Ip("198.18.0.27");
    private static readonly uint Other = Ip("198.18.0.99");

    private static byte[] WithIp(uint src, uint dst, byte[] icmp)
    {
        var p = new byte[20 + icmp.Length];
        p[0] = 0x45;
        p[9] = 1;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(12), src);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(16), dst);
        icmp.CopyTo(p, 20);
        return p;
    }

    private static byte[] Reply(ushort id, ushort seq)
    {
        var r = IcmpPacket.EchoRequest(id, seq, new byte[8]);
        r[0] = 0;
        return r;
    }

    [Fact]
    public void EchoRequest_ChecksumVerifiesToZero()
    {
        var p = IcmpPacket.EchoRequest(0x1234, 7, new byte[] { 1, 2, 3 }); // odd length exercises the pad byte
        Assert.Equal(8, p[0]);
        Assert.Equal(0, IcmpPacket.Checksum(p));
    }

    [Fact]
    public void Match_OurReplyOnRawSocket_IsReply()
    {
        var m = IcmpPacket.Match(WithIp(Target, 1, Reply(0x1234, 7)), true, Target, 0x1234, 7, true, out _, out _, out var from);
        Assert.Equal(IcmpMatch.Reply, m);
        Assert.Equal(Target, from);
    }

    [Theory]
    [InlineData((ushort)0x9999, (ushort)7)]  // another pinger's id
    [InlineData((ushort)0x1234, (ushort)6)]  // a late reply to our previous request
    public void Match_OtherIdOrSequence_IsNone(ushort id, ushort seq)
    {
        Assert.Equal(IcmpMatch.None, IcmpPacket.Match(WithIp(Target, 1, Reply(id, seq)), true, Target, 0x1234, 7, true, out _, out _, out _));
    }

    [Fact]
    public void Match_ReplyFromAnotherHost_IsNone()
    {
        Assert.Equal(IcmpMatch.None, IcmpPacket.Match(WithIp(Other, 1, Reply(0x1234, 7)), true, Target, 0x1234, 7, true, out _, out _, out _));
    }

    [Fact]
    public void Match_DatagramSocket_IgnoresTheKernelsIdentifier()
    {
        Assert.Equal(IcmpMatch.Reply, IcmpPacket.Match(Reply(0x0042, 7), false, Target, 0x1234, 7, false, out _, out _, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(27)]
    public void Match_Truncated_IsNone(int length)
    {
        var full = WithIp(Target, 1, Reply(0x1234, 7));
        Assert.Equal(IcmpMatch.None, IcmpPacket.Match(full.AsSpan(0, length), true, Target, 0x1234, 7, true, out _, out _, out _));
    }

    [Fact]
    public void Match_HostUnreachableQuotingOurRequest_IsErrorWithSender()
    {
        var ours = WithIp(Ip("198.18.0.12"), Target, IcmpPacket.EchoRequest(0x1234, 7, new byte[8]));
        var error = new byte[8 + ours.Length];
        error[0] = 3;
        error[1] = 1;
        ours.CopyTo(error, 8);
        var router = Ip("198.18.0.1");
        var m = IcmpPacket.Match(WithIp(router, 1, error), true, Target, 0x1234, 7, true, out var type, out var code, out var from);
        Assert.Equal(IcmpMatch.Error, m);
        Assert.Equal((3, 1), (type, code));
        Assert.Equal(router, from);
        Assert.Equal("host unreachable", IcmpPacket.Describe(type, code));
    }

    [Fact]
    public void Match_ErrorQuotingSomeoneElsesRequest_IsNone()
    {
        var theirs = WithIp(Ip("198.18.0.12"), Other, IcmpPacket.EchoRequest(0x1234, 7, new byte[8]));
        var error = new byte[8 + theirs.Length];
        error[0] = 3;
        theirs.CopyTo(error, 8);
        Assert.Equal(IcmpMatch.None, IcmpPacket.Match(WithIp(1, 2, error), true, Target, 0x1234, 7, true, out _, out _, out _));
    }

    [Fact]
    public void IcmpProbeResult_UnreachableFromTheTargetItself_IsRefused_FromARouter_Unreachable()
    {
        var target = Target;
        var byTarget = IcmpProbe.Result(target, new IcmpEngine.Answer(IcmpMatch.Error, 3, 13, target), TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1));
        Assert.Equal(ProbeStatus.Refused, byTarget.Status);
        Assert.True(byTarget.ProvesReceipt);
        Assert.Contains("refused by the target", byTarget.Reason);
        var byRouter = IcmpProbe.Result(target, new IcmpEngine.Answer(IcmpMatch.Error, 3, 1, Ip("198.18.0.1")), TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1));
        Assert.Equal(ProbeStatus.Unreachable, byRouter.Status);
        Assert.False(byRouter.ProvesReceipt);
        // Time exceeded is never the target's receipt, whoever sent it.
        Assert.Equal(ProbeStatus.Unreachable, IcmpProbe.Result(target, new IcmpEngine.Answer(IcmpMatch.Error, 11, 0, target), TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1)).Status);
    }
}
