
namespace ReachProbe.Tests.Wire.Trackers;

public class GratuitousArpTrackerTests
{
    [Fact]
    public void Observe_GratuitousFromTargetOnly_IsEvidence()
    {
        var sink = new RecordingSink();
        var t = new GratuitousArpTracker(Identity(GameConsole), sink, new VerdictOptions());
        t.Observe(Decode(Frames.GratuitousArp(GameConsole), 997.3));
        t.Observe(Decode(Frames.GratuitousArp(Laptop), 998));
        t.Observe(Decode(Frames.ArpRequest(GameConsole, Router.Ip), 999));
        var e = Assert.Single(sink.Items);
        Assert.Equal(EvidenceKind.GratuitousArp, e.Kind);
        Assert.Equal(At(997.3), e.Time);
    }
}
