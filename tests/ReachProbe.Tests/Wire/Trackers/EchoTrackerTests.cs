
namespace ReachProbe.Tests.Wire.Trackers;

public class EchoTrackerTests
{
    private readonly RecordingSink _sink = new();
    private readonly EchoTracker _tracker;

    public EchoTrackerTests() => _tracker = new EchoTracker(Identity(GameConsole), _sink, new VerdictOptions());

    [Fact]
    public void Observe_ReplyWithinTimeout_IsAnsweredNotUnanswered()
    {
        _tracker.Observe(Decode(Frames.EchoRequest(Pc, GameConsole, 1, 1), 0));
        _tracker.Observe(Decode(Frames.EchoReply(GameConsole, Pc, 1, 1), 0.001));
        _tracker.Expire(At(10));
        Assert.Equal(1, _sink.Count(EvidenceKind.EchoAnswered));
        Assert.Equal(0, _sink.Count(EvidenceKind.EchoUnanswered));
    }

    [Fact]
    public void Observe_TwoRepliesFromItsMacToOneRequest_IsADuplicateReply_OncePerExtraReply()
    {
        // A clone with the console's MAC and address answers too (seen from a mirror port: no port to tell them apart).
        _tracker.Observe(Decode(Frames.EchoRequest(Pc, GameConsole, 1, 1), 0));
        _tracker.Observe(Decode(Frames.EchoReply(GameConsole, Pc, 1, 1), 0.001));
        _tracker.Observe(Decode(Frames.EchoReply(GameConsole, Pc, 1, 1), 0.002));
        _tracker.Observe(Decode(Frames.EchoRequest(Pc, GameConsole, 1, 2), 1));
        _tracker.Observe(Decode(Frames.EchoReply(GameConsole, Pc, 1, 2), 1.001));
        Assert.Equal(1, _sink.Count(EvidenceKind.DuplicateReply));
        // The same sequence a long while later (a pinger that wrapped around) is no duplicate.
        _tracker.Expire(At(10));
        _tracker.Observe(Decode(Frames.EchoReply(GameConsole, Pc, 1, 1), 10.001));
        Assert.Equal(1, _sink.Count(EvidenceKind.DuplicateReply));
    }

    [Fact]
    public void Expire_NoReply_IsUnansweredStampedWithTheRequest()
    {
        _tracker.Observe(Decode(Frames.EchoRequest(Pc, GameConsole, 1, 1), 5));
        _tracker.Expire(At(6)); // within the 2 s timeout
        Assert.Empty(_sink.Items);
        _tracker.Expire(At(7.5));
        var e = Assert.Single(_sink.Items);
        Assert.Equal(EvidenceKind.EchoUnanswered, e.Kind);
        Assert.Equal(At(5), e.Time);
    }

    [Fact]
    public void Observe_ReplyWithOtherId_DoesNotSettleTheRequest()
    {
        _tracker.Observe(Decode(Frames.EchoRequest(Pc, GameConsole, 1, 1), 0));
        _tracker.Observe(Decode(Frames.EchoReply(GameConsole, Pc, 2, 1), 0.001));
        _tracker.Expire(At(3));
        Assert.Equal(1, _sink.Count(EvidenceKind.EchoUnanswered));
        // The reply still proves the console received some request.
        Assert.Equal(1, _sink.Count(EvidenceKind.EchoAnswered));
    }

    [Fact]
    public void Observe_ReplyFromAnotherHost_ProvesNothing()
    {
        _tracker.Observe(Decode(Frames.EchoRequest(Pc, GameConsole, 1, 1), 0));
        _tracker.Observe(Decode(Frames.EchoReply(Laptop, Pc, 1, 1), 0.001));
        _tracker.Expire(At(3));
        Assert.Equal(0, _sink.Count(EvidenceKind.EchoAnswered));
        Assert.Equal(1, _sink.Count(EvidenceKind.EchoUnanswered));
    }

    [Fact]
    public void Observe_DuplicateRequest_CountsOnce()
    {
        var req = Frames.EchoRequest(Pc, GameConsole, 1, 1);
        _tracker.Observe(Decode(req, 0));
        _tracker.Observe(Decode(req, 0.0001));
        _tracker.Expire(At(3));
        Assert.Equal(1, _sink.Count(EvidenceKind.EchoUnanswered));
    }

    [Fact]
    public void Observe_TwoPingersSameIdAndSeq_AreKeptApart()
    {
        _tracker.Observe(Decode(Frames.EchoRequest(Pc, GameConsole, 1, 1), 0));
        _tracker.Observe(Decode(Frames.EchoRequest(Laptop, GameConsole, 1, 1), 0));
        _tracker.Observe(Decode(Frames.EchoReply(GameConsole, Pc, 1, 1), 0.001));
        _tracker.Expire(At(3));
        var e = Assert.Single(_sink.Of(EvidenceKind.EchoUnanswered));
        Assert.Equal(At(0), e.Time);
    }

    [Fact]
    public void Observe_TruncatedReply_IsIgnored()
    {
        _tracker.Observe(Decode(Frames.EchoRequest(Pc, GameConsole, 1, 1), 0));
        var reply = Frames.EchoReply(GameConsole, Pc, 1, 1);
        ReachProbe.Wire.FrameDecoder.TryDecode(ReachProbe.Wire.LinkKind.Ethernet, reply.AsSpan(0, 14 + 20 + 3), At(0.001), out var cut);
        _tracker.Observe(cut);
        _tracker.Expire(At(3));
        Assert.Equal(0, _sink.Count(EvidenceKind.EchoAnswered));
        Assert.Equal(1, _sink.Count(EvidenceKind.EchoUnanswered));
    }

    [Fact]
    public void Observe_RequestFlood_StaysWithinTheBound()
    {
        var tracker = new EchoTracker(Identity(GameConsole), _sink, new VerdictOptions(), capacity: 64);
        for (ushort i = 0; i < 10_000; i++) tracker.Observe(Decode(Frames.EchoRequest(Pc, GameConsole, 7, i), i * 1e-4));
        Assert.Equal(10_000 - 64, tracker.Evicted);
        tracker.Expire(At(100));
        Assert.Equal(64, _sink.Count(EvidenceKind.EchoUnanswered));
    }

    [Fact]
    public void Observe_SwitchedView_AnotherHostsPing_IsNoEvidence()
    {
        var segment = SwitchedSegment(Mac(LabProbe.Mac));
        var sink = new RecordingSink();
        var tracker = new EchoTracker(Identity(LabConsole, segment: segment), sink, new VerdictOptions());
        tracker.Observe(Decode(Frames.EchoRequest(LabRouter, LabConsole, 7, 1), 0)); // flooded once, its reply never shows
        tracker.Observe(Decode(Frames.EchoRequest(LabProbe, LabConsole, 7, 2), 0.5));
        tracker.Expire(At(10));
        Assert.Equal(At(0.5), Assert.Single(sink.Of(EvidenceKind.EchoUnanswered)).Time);
    }
}
