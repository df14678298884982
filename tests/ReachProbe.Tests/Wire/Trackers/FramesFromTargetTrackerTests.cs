
namespace ReachProbe.Tests.Wire.Trackers;

public class FramesFromTargetTrackerTests
{
    [Fact]
    public void Observe_CountsFramesFromItsMacOnly()
    {
        var sink = new RecordingSink();
        var t = new FramesFromTargetTracker(Identity(GameConsole), sink, new VerdictOptions());
        t.Observe(Decode(Frames.DnsQuery(GameConsole, Router, 40000, 1, "a.lan"), 1));
        t.Observe(Decode(Frames.EchoRequest(Pc, GameConsole, 1, 1), 2));
        t.Observe(Decode(new byte[14 + 40].Also(b => { GameConsole.Hardware.GetAddressBytes().CopyTo(b, 6); b[12] = 0x86; b[13] = 0xDD; }), 3));
        Assert.Equal([At(1), At(3)], sink.Of(EvidenceKind.FrameFromTarget).Select(e => e.Time));
    }

    [Fact]
    public void Observe_MacUnknown_FallsBackToSourceAddress()
    {
        var sink = new RecordingSink();
        var t = new FramesFromTargetTracker(Identity(GameConsole, knownMac: false), sink, new VerdictOptions());
        t.Observe(Decode(Frames.DnsQuery(GameConsole, Router, 40000, 1, "a.lan"), 1));
        t.Observe(Decode(Frames.ArpRequest(GameConsole, Router.Ip), 2));
        t.Observe(Decode(Frames.EchoRequest(Pc, GameConsole, 1, 1), 3));
        Assert.Equal(2, sink.Count(EvidenceKind.FrameFromTarget));
    }
}

internal static class ArrayExtensions
{
    public static byte[] Also(this byte[] b, Action<byte[]> fill)
    {
        fill(b);
        return b;
    }
}
