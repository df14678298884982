
namespace ReachProbe.Tests.Wire.Trackers;

public class DnsRepeatTrackerTests
{
    private readonly RecordingSink _sink = new();
    private readonly DnsRepeatTracker _tracker;

    public DnsRepeatTrackerTests() => _tracker = new DnsRepeatTracker(Identity(GameConsole), _sink, new VerdictOptions());

    private void Query(double at, ushort id = 0x42, string name = "store.lan", ushort type = 1, LanHost? server = null) =>
        _tracker.Observe(Decode(Frames.DnsQuery(GameConsole, server ?? Router, 40000, id, name, type), at));

    private void Answer(double at, ushort id = 0x42, string name = "store.lan", ushort type = 1) =>
        _tracker.Observe(Decode(Frames.DnsResponse(Router, GameConsole, 40000, id, name, type), at));

    [Fact]
    public void Observe_QueryRepeatedAfterAnswer_IsEvidence()
    {
        Query(0);
        Answer(0.004);
        Query(1);
        Answer(1.004);
        Query(3);
        var repeats = _sink.Of(EvidenceKind.DnsRepeatedAfterAnswer).ToList();
        Assert.Equal(2, repeats.Count);
        Assert.Equal(At(1), repeats[0].Time);
    }

    [Fact]
    public void Observe_RetryWithoutAnswer_IsNotEvidence()
    {
        Query(0);
        Query(1);
        Query(3);
        Assert.Empty(_sink.Items);
    }

    [Theory]
    [InlineData((ushort)0x43, "store.lan", (ushort)1)]
    [InlineData((ushort)0x42, "other.lan", (ushort)1)]
    [InlineData((ushort)0x42, "store.lan", (ushort)28)]
    public void Observe_AnswerToADifferentQuestion_DoesNotMakeARepeat(ushort id, string name, ushort type)
    {
        Query(0);
        Answer(0.004, id, name, type);
        Query(1);
        Assert.Empty(_sink.Items);
    }

    [Fact]
    public void Observe_SameQueryToAnotherServer_IsANewQuery()
    {
        Query(0);
        Answer(0.004);
        Query(1, server: Http);
        Assert.Empty(_sink.Items);
    }

    [Fact]
    public void Observe_RepeatAfterTheWindow_IsANewQuery()
    {
        Query(0);
        Answer(0.004);
        _tracker.Expire(At(40));
        Query(40);
        Assert.Empty(_sink.Items);
    }

    [Fact]
    public void Observe_SameIdFromAnotherPort_IsAnotherQuery()
    {
        Query(0);
        Answer(0.004);
        _tracker.Observe(Decode(Frames.DnsQuery(GameConsole, Router, 40001, 0x42, "store.lan"), 1));
        Assert.Empty(_sink.Of(EvidenceKind.DnsRepeatedAfterAnswer));
    }

    [Fact]
    public void Observe_QueriesFromItsAddressButAnotherMac_AreNotItsOwn()
    {
        var forger = new LanHost(GameConsole.Ip, Laptop.Mac);
        _tracker.Observe(Decode(Frames.DnsQuery(forger, Router, 40000, 0x42, "store.lan"), 0));
        Answer(0.004);
        _tracker.Observe(Decode(Frames.DnsQuery(forger, Router, 40000, 0x42, "store.lan"), 1));
        Assert.Empty(_sink.Items);
    }

    [Fact]
    public void Observe_AnswerDeliveredToAnotherMac_NeverReachedIt()
    {
        // A duplicate of its address gets the answer: the console asking again is not ignoring an answer.
        Query(0);
        _tracker.Observe(Decode(Frames.DnsResponse(Router, new LanHost(GameConsole.Ip, Laptop.Mac), 40000, 0x42, "store.lan"), 0.004));
        Query(1);
        Assert.Empty(_sink.Items);
    }
}
