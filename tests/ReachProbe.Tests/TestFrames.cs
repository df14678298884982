
namespace ReachProbe.Tests;

/// <summary>Decodes PacketDotNet-built frames at a scripted time, and records evidence.</summary>
internal static class TestFrames
{
    public static readonly long T0 = new DateTime(2026, 3, 14, 20, 0, 0, DateTimeKind.Utc).Ticks;

    public static long At(double seconds) => T0 + (long)(seconds * TimeSpan.TicksPerSecond);

    public static DecodedFrame Decode(byte[] frame, double at)
    {
        Assert.True(FrameDecoder.TryDecode(LinkKind.Ethernet, frame, At(at), out var f));
        return f;
    }

    public static uint Ip(string text)
    {
        Assert.True(Addresses.TryParseIp(text, out var ip));
        return ip;
    }

    /// <summary>An address of either family as the wire path keys it.</summary>
    public static UInt128 Key(string text) => Addresses.ToKey(System.Net.IPAddress.Parse(text));

    public static ulong Mac(string text)
    {
        Assert.True(Addresses.TryParseMac(text, out var mac));
        return mac;
    }

    /// <summary>A segment seen from a switch port, captured by <paramref name="ownMac"/> (0: not known).</summary>
    public static Segment SwitchedSegment(ulong ownMac = 0, uint monitor = 0) =>
        new() { Monitor = monitor, View = new SegmentView(forced: CaptureView.Switched) { OwnMac = ownMac } };

    public static TargetIdentity Identity(ReachProbe.Testing.LanHost host, bool knownMac = true, Segment? segment = null) =>
        new(Ip(host.Ip), segment) { Mac = knownMac ? Mac(host.Mac) : 0 };
}

internal sealed class RecordingSink : IEvidenceSink
{
    public List<Evidence> Items { get; } = [];

    public void Add(in Evidence evidence) => Items.Add(evidence);

    public int Count(EvidenceKind kind) => Items.Count(e => e.Kind == kind);

    public IEnumerable<Evidence> Of(EvidenceKind kind) => Items.Where(e => e.Kind == kind);
}
