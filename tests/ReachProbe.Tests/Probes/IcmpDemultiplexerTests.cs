using System.Buffers.Binary;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using ReachProbe.Probes;

namespace ReachProbe.Tests.Probes;

/// <summary>
/// The shared ICMP socket's demultiplexer on a fake clock, with messages as a raw socket receives them (IP header
/// first): each reply reaches only the attempt it answers, once, and only before its deadline.
/// </summary>
public class IcmpDemultiplexerTests
{
    private const ushort Id = 0x4242;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);
    private static readonly IPAddress Target = IPAddress.Parse("198.18.0.27"), Other = IPAddress.Parse("198.18.0.99");

    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UnixEpoch);
    private readonly IcmpEngine _engine = new(Id);
    private readonly List<(string Who, IcmpEngine.Answer? Answer)> _done = [];

    private void Expect(IPAddress target, ushort sequence, string who) =>
        _engine.Expect(target, sequence, Timeout, _clock, a => _done.Add((who, a)));

    private static byte[] Reply(IPAddress from, ushort id, ushort sequence)
    {
        var icmp = IcmpPacket.EchoRequest(id, sequence, new byte[8]);
        icmp[0] = 0; // echo reply
        var p = new byte[20 + icmp.Length];
        p[0] = 0x45;
        p[9] = 1;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        from.GetAddressBytes().CopyTo(p, 12);
        icmp.CopyTo(p, 20);
        return p;
    }

    private void Receive(IPAddress from, ushort id, ushort sequence) =>
        _engine.Dispatch(Reply(from, id, sequence), raw: true, BinaryPrimitives.ReadUInt32BigEndian(from.GetAddressBytes()));

    [Fact]
    public void Reply_ReachesTheAttemptItAnswers_Only()
    {
        Expect(Target, 7, "target 7");
        Expect(Target, 8, "target 8");
        Expect(Other, 7, "other 7");
        Receive(Target, Id, 7);
        Assert.Equal([("target 7", IcmpMatch.Reply)], _done.Select(d => (d.Who, d.Answer!.Value.Kind)));
        Assert.Equal(2, _engine.Pending);
    }

    [Fact]
    public void ReplyForAnotherTarget_SameSequence_AnswersNothing()
    {
        Expect(Target, 7, "target");
        Receive(Other, Id, 7);
        Assert.Empty(_done);
        Assert.Equal(1, _engine.Pending);
    }

    [Fact]
    public void ReplyToAnotherAgentsId_AnswersNothing()
    {
        Expect(Target, 7, "target");
        Receive(Target, Id + 1, 7); // another pinger on the host: a raw socket sees its replies too
        Assert.Empty(_done);
        Receive(Target, Id, 7);
        Assert.Single(_done);
    }

    [Fact]
    public void DuplicateReplies_AnswerOnce()
    {
        Expect(Target, 7, "target");
        Receive(Target, Id, 7);
        Receive(Target, Id, 7);
        _clock.Advance(Timeout + DeadlineSweep.Period * 2);
        Assert.Single(_done);
        Assert.NotNull(_done[0].Answer);
    }

    [Fact]
    public void LateReply_AfterTheDeadline_IsATimeout_AndIgnored()
    {
        Expect(Target, 7, "target");
        _clock.Advance(Timeout - TimeSpan.FromMilliseconds(1));
        Assert.Empty(_done); // not before its deadline
        _clock.Advance(DeadlineSweep.Period * 2);
        Assert.Equal([("target", (IcmpEngine.Answer?)null)], _done);
        Receive(Target, Id, 7);
        Assert.Single(_done);
        Assert.Equal(0, _engine.Pending);
    }

    [Fact]
    public void ManyAttempts_EachExpiresAtItsOwnDeadline()
    {
        for (ushort i = 0; i < 100; i++)
        {
            Expect(Target, i, $"#{i}");
            _clock.Advance(TimeSpan.FromMilliseconds(10));
        }
        // The first attempts' deadlines have passed (1 s after each start), the last ones' not yet.
        var expired = _done.Select(d => d.Who).ToList();
        Assert.InRange(expired.Count, 1, 3);
        Assert.Equal(expired.OrderBy(w => int.Parse(w[1..], System.Globalization.CultureInfo.InvariantCulture)), expired);
        _clock.Advance(Timeout);
        Assert.Equal(100, _done.Count);
        Assert.All(_done, d => Assert.Null(d.Answer));
    }
}

/// <summary>The ICMPv6 side of the demultiplexer: messages as an ICMPv6 socket receives them (no IPv6 header).</summary>
public class IcmpV6DemultiplexerTests
{
    private const ushort Id = 0x4242;
    private static readonly IPAddress Target = IPAddress.Parse("2001:db8::27"), Router = IPAddress.Parse("2001:db8::1");
    private static readonly IPAddress V4Twin = IPAddress.Parse("198.18.0.27");

    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UnixEpoch);
    private readonly IcmpEngine _engine = new(Id);
    private readonly List<(string Who, IcmpEngine.Answer? Answer)> _done = [];

    private void Expect(IPAddress target, ushort sequence, string who) =>
        _engine.Expect(target, sequence, TimeSpan.FromSeconds(1), _clock, a => _done.Add((who, a)));

    private static byte[] Reply(ushort id, ushort sequence)
    {
        var icmp = IcmpPacket.EchoRequestV6(id, sequence, new byte[8]);
        icmp[0] = 129;
        return icmp;
    }

    /// <summary>An ICMPv6 error of <paramref name="type"/>/<paramref name="code"/> quoting our echo request to <paramref name="to"/>.</summary>
    private static byte[] Error(byte type, byte code, IPAddress to, ushort id, ushort sequence)
    {
        var request = IcmpPacket.EchoRequestV6(id, sequence, new byte[8]);
        var p = new byte[8 + 40 + request.Length];
        p[0] = type;
        p[1] = code;
        p[8] = 0x60;
        p[8 + 6] = 58;
        IPAddress.Parse("2001:db8::12").GetAddressBytes().CopyTo(p, 8 + 8);
        to.GetAddressBytes().CopyTo(p, 8 + 24);
        request.CopyTo(p, 48);
        return p;
    }

    [Fact]
    public void EchoRequestV6_IsType128_WithTheKernelsChecksum()
    {
        var p = IcmpPacket.EchoRequestV6(0x1234, 7, new byte[3]);
        Assert.Equal((128, 0, 0), (p[0], p[2], p[3]));
        Assert.Equal((0x1234, 7), (BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(4)), BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(6))));
    }

    [Fact]
    public void Reply_ReachesTheIPv6AttemptItAnswers_NeverTheIPv4One()
    {
        Expect(Target, 7, "v6");
        Expect(V4Twin, 7, "v4");
        _engine.DispatchV6(Reply(Id, 7), raw: true, Addresses.ToKey(Target));
        Assert.Equal([("v6", IcmpMatch.Reply)], _done.Select(d => (d.Who, d.Answer!.Value.Kind)));
        // Another pinger's identifier, or our request echoed back (type 128): nothing.
        Expect(Target, 8, "v6 8");
        _engine.DispatchV6(Reply(0x1111, 8), raw: true, Addresses.ToKey(Target));
        _engine.DispatchV6(IcmpPacket.EchoRequestV6(Id, 8, new byte[8]), raw: true, Addresses.ToKey(Target));
        Assert.Single(_done);
    }

    [Theory]
    [InlineData(1, 4, 3, 3, "port unreachable")]
    [InlineData(1, 1, 3, 13, "administratively prohibited")]
    [InlineData(1, 3, 3, 1, "host unreachable")]
    [InlineData(3, 0, 11, 0, "time exceeded")]
    public void Error_QuotingOurRequest_ReadsInIcmpV4Numbers(byte type, byte code, byte v4Type, byte v4Code, string text)
    {
        Expect(Target, 9, "v6");
        _engine.DispatchV6(Error(type, code, Target, Id, 9), raw: true, Addresses.ToKey(Router));
        var answer = Assert.Single(_done).Answer!.Value;
        Assert.Equal((IcmpMatch.Error, v4Type, v4Code, Addresses.ToKey(Router)), (answer.Kind, answer.Type, answer.Code, answer.From));
        Assert.Equal(text, IcmpPacket.Describe(answer.Type, answer.Code));
    }

    [Fact]
    public void Garbage_IsIgnored()
    {
        Expect(Target, 9, "v6");
        var error = Error(1, 4, Target, Id, 9);
        // Cut anywhere before the quoted request's sequence number (8 + 40 + 8 bytes): not ours to take.
        for (var n = 0; n < 56; n++) _engine.DispatchV6(error.AsSpan(0, n), raw: true, Addresses.ToKey(Router));
        _engine.DispatchV6(Error(1, 4, Router, Id, 9), raw: true, Addresses.ToKey(Router)); // about another target
        Assert.Empty(_done);
    }
}
