
namespace ReachProbe.Tests.Wire.Trackers;

public class ArpForTargetTrackerTests
{
    private readonly RecordingSink _sink = new();
    private readonly ArpForTargetTracker _tracker;

    public ArpForTargetTrackerTests() => _tracker = new ArpForTargetTracker(Identity(GameConsole), _sink, new VerdictOptions());

    [Fact]
    public void Expire_UnicastThenBroadcastUnanswered_CountsEachWithItsKind()
    {
        for (var i = 0; i < 3; i++) _tracker.Observe(Decode(Frames.ArpRequest(Pc, GameConsole.Ip, GameConsole), i));
        for (var i = 3; i < 5; i++) _tracker.Observe(Decode(Frames.ArpRequest(Pc, GameConsole.Ip), i));
        _tracker.Expire(At(10));
        var unanswered = _sink.Of(EvidenceKind.ArpForTargetUnanswered).ToList();
        Assert.Equal(5, unanswered.Count);
        Assert.Equal(3, unanswered.Count(e => !e.Broadcast));
        Assert.Equal(2, unanswered.Count(e => e.Broadcast));
        Assert.Equal(At(0), unanswered.Min(e => e.Time));
    }

    [Fact]
    public void Observe_ReplyFromTarget_SettlesEveryRequestOfThatRequester()
    {
        _tracker.Observe(Decode(Frames.ArpRequest(Pc, GameConsole.Ip, GameConsole), 0));
        _tracker.Observe(Decode(Frames.ArpRequest(Pc, GameConsole.Ip), 1));
        _tracker.Observe(Decode(Frames.ArpReply(GameConsole, Pc), 1.5));
        _tracker.Expire(At(10));
        Assert.Equal(0, _sink.Count(EvidenceKind.ArpForTargetUnanswered));
        Assert.Equal(1, _sink.Count(EvidenceKind.ArpAnsweredByTarget));
    }

    [Fact]
    public void Observe_ReplyToAnotherRequester_LeavesThisOneUnanswered()
    {
        _tracker.Observe(Decode(Frames.ArpRequest(Pc, GameConsole.Ip), 0));
        _tracker.Observe(Decode(Frames.ArpReply(GameConsole, Laptop), 0.5));
        _tracker.Expire(At(10));
        Assert.Equal(1, _sink.Count(EvidenceKind.ArpForTargetUnanswered));
    }

    [Fact]
    public void Observe_ProbeAndAnnouncement_AreNotRequestsForTheTarget()
    {
        var probe = Frames.ArpRequest(new LanHost("0.0.0.0", Laptop.Mac), GameConsole.Ip);
        _tracker.Observe(Decode(probe, 0));
        _tracker.Observe(Decode(Frames.GratuitousArp(GameConsole), 0));
        _tracker.Expire(At(10));
        Assert.Empty(_sink.Items);
    }

    [Fact]
    public void Observe_ReplyForItsAddressFromAnotherMac_ProvesNothing()
    {
        // A spoofer (or a duplicate address) answers for the console with its own MAC: the request stays unanswered.
        var spoofer = new LanHost(GameConsole.Ip, Laptop.Mac);
        _tracker.Observe(Decode(Frames.ArpRequest(Pc, GameConsole.Ip), 0));
        _tracker.Observe(Decode(Frames.ArpReply(spoofer, Pc), 0.001));
        _tracker.Expire(At(10));
        Assert.Equal(0, _sink.Count(EvidenceKind.ArpAnsweredByTarget));
        Assert.Equal(1, _sink.Count(EvidenceKind.ArpForTargetUnanswered));
    }

    [Fact]
    public void Observe_SwitchedView_AnotherHostsWhoHas_IsNoEvidence_TheCapturersIs()
    {
        var segment = SwitchedSegment(Mac(LabProbe.Mac));
        var sink = new RecordingSink();
        var tracker = new ArpForTargetTracker(Identity(LabConsole, segment: segment), sink, new VerdictOptions());
        // The router asks for the console; the console's unicast reply to the router never reaches a switch port.
        tracker.Observe(Decode(Frames.ArpRequest(LabRouter, LabConsole.Ip), 0));
        // The capturing host asks too: its reply would show here, and none came.
        tracker.Observe(Decode(Frames.ArpRequest(LabProbe, LabConsole.Ip), 0.5));
        tracker.Expire(At(10));
        Assert.Equal(At(0.5), Assert.Single(sink.Of(EvidenceKind.ArpForTargetUnanswered)).Time);
    }
}
