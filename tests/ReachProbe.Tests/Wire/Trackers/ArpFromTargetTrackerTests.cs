
namespace ReachProbe.Tests.Wire.Trackers;

public class ArpFromTargetTrackerTests
{
    private readonly RecordingSink _sink = new();
    private readonly ArpFromTargetTracker _tracker;

    public ArpFromTargetTrackerTests() => _tracker = new ArpFromTargetTracker(Identity(LabConsole), _sink, new VerdictOptions());

    private void See(byte[] frame, double at) => _tracker.Observe(Decode(frame, at));

    [Fact]
    public void Observe_AskedAgainAfterReply_IsEvidenceEachTime()
    {
        for (var k = 0; k < 3; k++)
        {
            See(Frames.ArpRequest(LabConsole, LabRouter.Ip), k);
            See(Frames.ArpReply(LabRouter, LabConsole), k + 0.0003);
        }
        Assert.Equal(2, _sink.Count(EvidenceKind.ArpRepeatedAfterReply));
    }

    [Fact]
    public void Observe_RetryWithoutReply_IsNotEvidence()
    {
        for (var k = 0; k < 3; k++) See(Frames.ArpRequest(LabConsole, LabRouter.Ip), k);
        Assert.Empty(_sink.Items);
    }

    [Fact]
    public void Observe_RefreshLongAfterReply_IsHealthy()
    {
        See(Frames.ArpRequest(LabConsole, LabRouter.Ip, LabRouter), 0);
        See(Frames.ArpReply(LabRouter, LabConsole), 0.0003);
        _tracker.Expire(At(60));
        See(Frames.ArpRequest(LabConsole, LabRouter.Ip, LabRouter), 60);
        Assert.Empty(_sink.Items);
    }

    [Fact]
    public void Observe_ReplyFromAnotherHost_DoesNotCount()
    {
        See(Frames.ArpRequest(LabConsole, LabRouter.Ip), 0);
        See(Frames.ArpReply(LabProbe, LabConsole), 0.0003);
        See(Frames.ArpRequest(LabConsole, LabRouter.Ip), 1);
        Assert.Empty(_sink.Items);
    }

    [Fact]
    public void Observe_SwitchedView_RepeatForAHostThatAnswersTheMonitor_IsEvidence()
    {
        var segment = SwitchedSegment(monitor: Ip(LabProbe.Ip));
        var sink = new RecordingSink();
        var tracker = new ArpFromTargetTracker(Identity(LabConsole, segment: segment), sink, new VerdictOptions());
        // The router's reply to the console is unicast: a switch port never shows it. The router answered us, though.
        segment.AnsweredMonitor(Ip(LabRouter.Ip), At(0));
        for (var k = 0; k < 3; k++) tracker.Observe(Decode(Frames.ArpRequest(LabConsole, LabRouter.Ip), 1 + k));
        Assert.Equal(2, sink.Count(EvidenceKind.ArpRepeatedAfterReply));
    }

    [Fact]
    public void Observe_SwitchedView_RepeatForAHostThatDoesNotAnswer_IsNotEvidence()
    {
        var segment = SwitchedSegment();
        var sink = new RecordingSink();
        var tracker = new ArpFromTargetTracker(Identity(LabConsole, segment: segment), sink, new VerdictOptions());
        segment.AnsweredMonitor(Ip(LabRouter.Ip), At(0));
        // It asks for an address nobody answers (a router that is off): retrying is what a healthy host does.
        for (var k = 0; k < 3; k++) tracker.Observe(Decode(Frames.ArpRequest(LabConsole, "198.18.0.99"), 1 + k));
        // And an answer to the monitor long ago says nothing about now.
        for (var k = 0; k < 3; k++) tracker.Observe(Decode(Frames.ArpRequest(LabConsole, LabRouter.Ip), 100 + k));
        Assert.Empty(sink.Items);
    }
}
