
namespace ReachProbe.Tests.Wire.Trackers;

public class SilenceTrackerTests
{
    private static SilenceTracker Tracker(RecordingSink sink, VerdictOptions options, Segment? segment = null, Func<bool>? answering = null) =>
        new(Identity(LabConsole, segment: segment), sink, options, answering ?? (() => true));

    [Fact]
    public void Expire_AfterSilenceWindow_ReportsOnceStampedWithLastFrame()
    {
        var sink = new RecordingSink();
        var t = Tracker(sink, new VerdictOptions { SilenceWindow = TimeSpan.FromSeconds(30) });
        t.Observe(Decode(Frames.GratuitousArp(LabConsole), 10));
        t.Expire(At(39));
        Assert.Empty(sink.Items);
        t.Expire(At(41));
        t.Expire(At(80));
        var e = Assert.Single(sink.Items);
        Assert.Equal(EvidenceKind.Silence, e.Kind);
        Assert.Equal(At(10), e.Time);
        t.Observe(Decode(Frames.GratuitousArp(LabConsole), 100));
        t.Expire(At(131));
        Assert.Equal(2, sink.Items.Count);
    }

    [Fact]
    public void Expire_NeverSeen_FullView_ReportsNothing()
    {
        var sink = new RecordingSink();
        var t = Tracker(sink, new VerdictOptions());
        t.Observe(Decode(Frames.EchoRequest(LabProbe, LabConsole, 1, 1), 0));
        t.Expire(At(0));
        t.Expire(At(1000));
        Assert.Empty(sink.Items);
    }

    [Fact]
    public void Expire_NeverSeen_SwitchedView_IsSilentFromWhenWatchingBegan_AfterTheMaximum()
    {
        var sink = new RecordingSink();
        var t = Tracker(sink, new VerdictOptions { OverdueMax = TimeSpan.FromSeconds(60) }, SwitchedSegment());
        t.Expire(At(5));
        t.Expire(At(64));
        Assert.Empty(sink.Items);
        t.Expire(At(66));
        Assert.Equal(At(5), Assert.Single(sink.Items).Time);
    }

    [Fact]
    public void Window_SwitchedView_FollowsTheBroadcastCadenceLearnedWhileAnswering()
    {
        var sink = new RecordingSink();
        var segment = SwitchedSegment(Mac(LabProbe.Mac), Ip(LabProbe.Ip));
        var t = Tracker(sink, new VerdictOptions(), segment);
        Assert.Equal(TimeSpan.FromSeconds(300), t.Window); // nothing learned: the maximum
        // It broadcasts every 5 s and answers our pings every second: only the broadcasts are its cadence.
        for (var s = 0; s < 30; s++)
        {
            if (s % 5 == 0) t.Observe(Decode(Frames.ArpRequest(LabConsole, LabRouter.Ip), s));
            t.Observe(Decode(Frames.EchoReply(LabConsole, LabProbe, 1, (ushort)s), s + 0.5));
        }
        Assert.Equal(TimeSpan.FromSeconds(15), t.Window); // 5 s × 3
        t.Expire(At(29.5 + 14));
        Assert.Empty(sink.Items);
        t.Expire(At(29.5 + 16));
        Assert.Equal(At(29.5), Assert.Single(sink.Items).Time);

        segment.View = null; // full view
        Assert.Equal(TimeSpan.FromSeconds(30), t.Window); // full view: the silence window
    }

    [Fact]
    public void Observe_WhileNotAnswering_LearnsNothing_AndTheOutageGapIsNotItsHabit()
    {
        var answering = true;
        var t = Tracker(new RecordingSink(), new VerdictOptions(), SwitchedSegment(), () => answering);
        for (var s = 0; s <= 8; s += 2) t.Observe(Decode(Frames.ArpRequest(LabConsole, LabRouter.Ip), s));
        Assert.Equal(TimeSpan.FromSeconds(2), t.Cadence.UsualGap);
        answering = false;
        t.Observe(Decode(Frames.ArpRequest(LabConsole, LabRouter.Ip), 9));
        answering = true;
        t.Observe(Decode(Frames.ArpRequest(LabConsole, LabRouter.Ip), 500));
        t.Observe(Decode(Frames.ArpRequest(LabConsole, LabRouter.Ip), 502));
        Assert.Equal(TimeSpan.FromSeconds(2), t.Cadence.UsualGap);
    }

    [Fact]
    public void Expire_WhileNotAnswering_TheSilentOutageIsNotLearnedAsAGap()
    {
        var answering = true;
        var t = Tracker(new RecordingSink(), new VerdictOptions(), SwitchedSegment(), () => answering);
        for (var s = 0; s <= 10; s += 2) t.Observe(Decode(Frames.ArpRequest(LabConsole, LabRouter.Ip), s));
        // Its link goes down at 11 s: nothing from it, it answers nothing; back at 60 s, answering before it broadcasts.
        answering = false;
        for (var s = 11.0; s < 60; s += 0.25) t.Expire(At(s));
        answering = true;
        t.Expire(At(60));
        t.Observe(Decode(Frames.ArpRequest(LabConsole, LabRouter.Ip), 61));
        t.Observe(Decode(Frames.ArpRequest(LabConsole, LabRouter.Ip), 63));
        Assert.Equal(TimeSpan.FromSeconds(2), t.Cadence.UsualGap);
        Assert.Equal(TimeSpan.FromSeconds(10), t.Window);
    }
}
