namespace ReachProbe.Tests.Wire;

/// <summary>The capture's view, decided on frame time: full at the first unicast between two other hosts, switched again after the fall-back.</summary>
public class SegmentViewTests
{
    private static readonly LanHost Monitor = LabProbe;

    private static SegmentView Detector() => new(TimeSpan.FromMinutes(3)) { OwnMac = Mac(Monitor.Mac) };

    [Fact]
    public void OwnTrafficAndBroadcasts_AreASwitchedView()
    {
        var v = Detector();
        for (var t = 0; t < 600; t += 2)
        {
            v.Observe(Decode(Frames.EchoRequest(Monitor, LabConsole, 1, (ushort)t), t));
            v.Observe(Decode(Frames.EchoReply(LabConsole, Monitor, 1, (ushort)t), t + 0.001));
            v.Observe(Decode(Frames.ArpRequest(LabConsole, LabRouter.Ip), t + 1));               // broadcast
            v.Observe(Decode(Frames.GratuitousArp(LabRouter), t + 1.5));
        }
        Assert.Equal(CaptureView.Switched, v.View);
    }

    [Fact]
    public void UnicastBetweenTwoKnownHosts_IsAFullView_AtOnce_ThenFallsBackAfterThreeQuietMinutes()
    {
        var v = Detector();
        var changes = new List<(CaptureView, double)>();
        v.Changed += (view, at) => changes.Add((view, (at - TestFrames.T0) / 1e7));
        // Both hosts seen on the segment before (their broadcasts), at least the acquaintance time before.
        v.Observe(Decode(Frames.ArpRequest(LabConsole, LabRouter.Ip), 0));
        v.Observe(Decode(Frames.GratuitousArp(LabRouter), 0));
        v.Observe(Decode(Frames.DnsQuery(LabConsole, LabRouter, 40000, 1, "store.lan"), 10));
        v.Observe(Decode(Frames.DnsResponse(LabRouter, LabConsole, 40000, 1, "store.lan"), 10.004));
        Assert.Equal(CaptureView.Full, v.View);
        // Only our own conversation afterwards: still full within three minutes, switched after.
        for (var t = 11; t <= 400; t++) v.Observe(Decode(Frames.EchoRequest(Monitor, LabConsole, 1, (ushort)t), t));
        Assert.Equal([(CaptureView.Full, 10.004), (CaptureView.Switched, 191.0)], changes);
    }

    [Fact]
    public void ViewThatFlips_IsFollowedEachWay()
    {
        var v = Detector();
        v.Observe(Decode(Frames.DnsQuery(LabConsole, LabRouter, 40000, 1, "a.lan"), 0));
        v.Observe(Decode(Frames.DnsResponse(LabRouter, LabConsole, 40000, 1, "a.lan"), 0.01));
        v.Tick(TestFrames.At(200));
        Assert.Equal(CaptureView.Switched, v.View);
        v.Observe(Decode(Frames.DnsQuery(LabConsole, LabRouter, 40000, 2, "a.lan"), 201));
        v.Observe(Decode(Frames.DnsResponse(LabRouter, LabConsole, 40000, 2, "a.lan"), 201.01));
        Assert.Equal(CaptureView.Full, v.View);
    }

    [Fact]
    public void ConfiguredView_IsNotDetected()
    {
        var v = new SegmentView(forced: CaptureView.Switched) { OwnMac = Mac(Monitor.Mac) };
        v.Observe(Decode(Frames.DnsQuery(LabConsole, LabRouter, 40000, 1, "store.lan"), 1));
        Assert.Equal(CaptureView.Switched, v.View);
    }

    [Fact]
    public void WithoutItsOwnMac_NothingIsDecided()
    {
        var v = new SegmentView();
        v.Observe(Decode(Frames.DnsQuery(LabConsole, LabRouter, 40000, 1, "store.lan"), 1));
        Assert.Equal(CaptureView.Switched, v.View);
    }

    [Fact]
    public void FloodedUnicast_OneWay_IsNotAFullView()
    {
        var v = Detector();
        // After the console's port went down and up, the switch floods the router's frames to it for a moment, to
        // every port, until the console speaks; the console's answer is not flooded.
        for (var k = 0; k < 5; k++) v.Observe(Decode(Frames.Udp(LabRouter, LabConsole, 53, 40000, new byte[40]), 100 + k * 0.2));
        v.Observe(Decode(Frames.Udp(LabConsole, LabRouter, 40000, 53, new byte[40]), 120)); // both ways, but 20 s apart
        Assert.Equal(CaptureView.Switched, v.View);
    }

    [Fact]
    public void UnicastBothWaysBetweenHostsNeverSeenBefore_IsNotAFullView_UntilTheyAreKnown()
    {
        // Issue 24's attack from another switch port: link toggled (the switch forgets), then unicast between two made-up
        // MACs one way and the other, both flooded to the monitor. Hosts the segment did not know make no full view.
        var v = Detector();
        var a = new LanHost("198.18.0.201", "02:aa:00:00:00:01");
        var b = new LanHost("198.18.0.202", "02:bb:00:00:00:02");
        v.Observe(Decode(Frames.Udp(a, b, 1000, 2000, new byte[20]), 50));
        v.Observe(Decode(Frames.Udp(b, a, 2000, 1000, new byte[20]), 50.5));
        Assert.Equal(CaptureView.Switched, v.View);
        Assert.Equal(long.MaxValue, v.FullSince);
        // The same two, still talking both ways once they have been on the segment for the acquaintance time: full.
        v.Observe(Decode(Frames.Udp(a, b, 1000, 2000, new byte[20]), 61));
        v.Observe(Decode(Frames.Udp(b, a, 2000, 1000, new byte[20]), 61.5));
        Assert.Equal(CaptureView.Full, v.View);
        Assert.Equal(TestFrames.At(61.5), v.FullSince);
    }
}
