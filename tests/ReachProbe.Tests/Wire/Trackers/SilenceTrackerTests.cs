
namespace ReachProbe.Tests.Wire.Trackers;

public class SilenceTrackerTests
{
    [Fact]
    public void Expire_AfterSilenceWindow_ReportsOnceStampedWithLastFrame()
    {
        var sink = new RecordingSink();
        var t = new SilenceTracker(Identity(GameConsole), sink, new VerdictOptions { SilenceWindow = TimeSpan.FromSeconds(30) });
        t.Observe(Decode(Frames.GratuitousArp(GameConsole), 10));
        t.Expire(At(39));
        Assert.Empty(sink.Items);
        t.Expire(At(41));
        t.Expire(At(80));
        var e = Assert.Single(sink.Items);
        Assert.Equal(EvidenceKind.Silence, e.Kind);
        Assert.Equal(At(10), e.Time);
        t.Observe(Decode(Frames.GratuitousArp(GameConsole), 100));
        t.Expire(At(131));
        Assert.Equal(2, sink.Items.Count);
    }

    [Fact]
    public void Expire_NeverSeen_ReportsNothing()
    {
        var sink = new RecordingSink();
        var t = new SilenceTracker(Identity(GameConsole), sink, new VerdictOptions());
        t.Observe(Decode(Frames.EchoRequest(Pc, GameConsole, 1, 1), 0));
        t.Expire(At(1000));
        Assert.Empty(sink.Items);
    }
}
