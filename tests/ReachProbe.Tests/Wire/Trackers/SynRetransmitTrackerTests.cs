
namespace ReachProbe.Tests.Wire.Trackers;

public class SynRetransmitTrackerTests
{
    private readonly RecordingSink _sink = new();
    private readonly SynRetransmitTracker _tracker;

    public SynRetransmitTrackerTests() => _tracker = new SynRetransmitTracker(Identity(GameConsole), _sink, new VerdictOptions());

    private void See(byte[] frame, double at) => _tracker.Observe(Decode(frame, at));

    [Fact]
    public void Observe_SynRetransmittedAfterSynAck_IsEvidence()
    {
        See(Frames.Tcp(GameConsole, Http, 50000, 80, 1000, 0, 0x02), 0);
        See(Frames.Tcp(Http, GameConsole, 80, 50000, 9000, 1001, 0x12), 0.001);
        See(Frames.Tcp(GameConsole, Http, 50000, 80, 1000, 0, 0x02), 1);
        var e = Assert.Single(_sink.Items);
        Assert.Equal(EvidenceKind.SynRetransmittedAfterSynAck, e.Kind);
        Assert.Equal(At(1), e.Time);
    }

    [Fact]
    public void Observe_SynRetransmittedWithoutSynAck_IsNotEvidence()
    {
        See(Frames.Tcp(GameConsole, Http, 50000, 80, 1000, 0, 0x02), 0);
        See(Frames.Tcp(GameConsole, Http, 50000, 80, 1000, 0, 0x02), 1);
        Assert.Empty(_sink.Items);
    }

    [Fact]
    public void Observe_SynAckCapturedBeforeItsSyn_IsReorderingNotRetransmission()
    {
        See(Frames.Tcp(Http, GameConsole, 80, 50000, 9000, 1001, 0x12), 0);
        See(Frames.Tcp(GameConsole, Http, 50000, 80, 1000, 0, 0x02), 0.0001);
        See(Frames.Tcp(GameConsole, Http, 50000, 80, 1001, 9001, 0x10), 0.0002);
        Assert.DoesNotContain(_sink.Items, e => e.Kind == EvidenceKind.SynRetransmittedAfterSynAck);
    }

    [Fact]
    public void Observe_HandshakeCompleted_IsProofAndEndsTracking()
    {
        See(Frames.Tcp(GameConsole, Http, 50000, 80, 1000, 0, 0x02), 0);
        See(Frames.Tcp(Http, GameConsole, 80, 50000, 9000, 1001, 0x12), 0.001);
        See(Frames.Tcp(GameConsole, Http, 50000, 80, 1001, 9001, 0x10), 0.002);
        See(Frames.Tcp(GameConsole, Http, 50000, 80, 1000, 0, 0x02), 5); // port reuse later: a new connection
        Assert.Equal(1, _sink.Count(EvidenceKind.TcpAnsweredByTarget));
        Assert.Equal(0, _sink.Count(EvidenceKind.SynRetransmittedAfterSynAck));
    }

    [Fact]
    public void Observe_SynAckForAnotherIsn_DoesNotCount()
    {
        See(Frames.Tcp(GameConsole, Http, 50000, 80, 1000, 0, 0x02), 0);
        See(Frames.Tcp(Http, GameConsole, 80, 50000, 9000, 5555, 0x12), 0.001);
        See(Frames.Tcp(GameConsole, Http, 50000, 80, 1000, 0, 0x02), 1);
        Assert.Empty(_sink.Items);
    }

    [Fact]
    public void Observe_TargetAnsweringSyn_IsProof()
    {
        See(Frames.Tcp(Pc, GameConsole, 50000, 9295, 1000, 0, 0x02), 0);
        See(Frames.Tcp(GameConsole, Pc, 9295, 50000, 4000, 1001, 0x12), 0.001);
        Assert.Equal(1, _sink.Count(EvidenceKind.TcpAnsweredByTarget));
    }

    [Fact]
    public void Observe_SynAckAnsweringASynToTheTarget_IsProof()
    {
        See(Frames.Tcp(Pc, GameConsole, 51000, 9295, 5000, 0, 0x02), 0);
        See(Frames.Tcp(GameConsole, Pc, 9295, 51000, 7000, 5001, 0x12), 0.001);
        Assert.Equal(1, _sink.Count(EvidenceKind.TcpAnsweredByTarget));
    }

    [Fact]
    public void Observe_ForgedSynAcks_ProveNothing()
    {
        // 1,000 SYN/ACKs "from the console" answering no SYN seen on the wire, and one from another MAC for a real SYN.
        for (var i = 0; i < 1000; i++) See(Frames.Tcp(GameConsole, Pc, 9295, (ushort)(40000 + i), (uint)i * 7919, (uint)i * 104729, 0x12), i * 0.001);
        See(Frames.Tcp(Pc, GameConsole, 51000, 9295, 5000, 0, 0x02), 2);
        See(Frames.Tcp(new LanHost(GameConsole.Ip, Laptop.Mac), Pc, 9295, 51000, 7000, 5001, 0x12), 2.001);
        _tracker.Expire(At(60));
        Assert.Equal(0, _sink.Count(EvidenceKind.TcpAnsweredByTarget));
    }
}
