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
