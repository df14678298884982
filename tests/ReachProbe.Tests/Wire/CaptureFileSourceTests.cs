using ReachProbe.Analysis;

namespace ReachProbe.Tests.Wire;

public sealed class CaptureFileSourceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reachprobe-source-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private string Write(string name, int linkType, params byte[][] frames)
    {
        var path = PathOf(name);
        using var w = new PcapWriter(path, linkType);
        var t = new DateTime(2026, 3, 14, 20, 0, 0, DateTimeKind.Utc);
        foreach (var f in frames) w.Write(t = t.AddMilliseconds(10), f);
        return path;
    }

    [Fact]
    public void Open_MissingFile_SaysSo()
    {
        var e = Assert.Throws<CaptureException>(() => CaptureFileSource.Open(PathOf("nope.pcap")));
        Assert.Equal($"{PathOf("nope.pcap")}: no such file", e.Message);
    }

    [Fact]
    public void Open_Directory_SaysSo()
    {
        var e = Assert.Throws<CaptureException>(() => CaptureFileSource.Open(_dir));
        Assert.EndsWith("is a directory, not a capture file", e.Message);
    }

    [Fact]
    public void Open_EmptyFile_SaysSo()
    {
        File.WriteAllBytes(PathOf("empty.pcap"), []);
        var e = Assert.Throws<CaptureException>(() => CaptureFileSource.Open(PathOf("empty.pcap")));
        Assert.EndsWith("empty file (0 bytes), not a capture", e.Message);
    }

    [Fact]
    public void Open_TextFile_NamesItsFirstBytes()
    {
        File.WriteAllText(PathOf("notes.pcap"), "hello world");
        var e = Assert.Throws<CaptureException>(() => CaptureFileSource.Open(PathOf("notes.pcap")));
        Assert.EndsWith("not a pcap or pcapng file (starts with 0x68656C6C)", e.Message);
    }

    [Fact]
    public void Open_Gzip_SaysHowToDecompress()
    {
        File.WriteAllBytes(PathOf("c.pcap.gz"), [0x1F, 0x8B, 8, 0, 0, 0, 0, 0]);
        var e = Assert.Throws<CaptureException>(() => CaptureFileSource.Open(PathOf("c.pcap.gz")));
        Assert.Contains("gzip-compressed; decompress it first", e.Message);
    }

    [Fact]
    public void Open_RawIpLinkType_IsUnsupportedWithItsName()
    {
        var path = Write("raw.pcap", 101, Frames.EchoRequest(Pc, GameConsole, 1, 1)[14..]);
        var e = Assert.Throws<CaptureException>(() => CaptureFileSource.Open(path));
        Assert.Equal($"{path}: unsupported link type 101 (raw IP); ReachProbe reads Ethernet (1), Linux cooked SLL (113) and SLL2 (276)", e.Message);
    }

    [Fact]
    public void Open_TruncatedHeader_IsRejectedByLibpcapWithItsReason()
    {
        var path = Write("ok.pcap", 1, Frames.GratuitousArp(GameConsole));
        File.WriteAllBytes(PathOf("hdr.pcap"), File.ReadAllBytes(path)[..20]);
        var e = Assert.Throws<CaptureException>(() => CaptureFileSource.Open(PathOf("hdr.pcap")));
        Assert.Contains("truncated", e.Message);
        Assert.StartsWith(PathOf("hdr.pcap") + ": ", e.Message);
    }

    [Fact]
    public void TryRead_ReadsTimestampsToTheNanosecondTick()
    {
        var path = PathOf("ns.pcap");
        var t = new DateTime(2026, 3, 14, 20, 0, 0, DateTimeKind.Utc).AddTicks(1234567);
        using (var w = new PcapWriter(path)) w.Write(t, Frames.GratuitousArp(GameConsole));
        using var source = CaptureFileSource.Open(path);
        Assert.True(source.TryRead(out var frame));
        Assert.Equal(t.Ticks, frame.Time);
        Assert.Equal(42, frame.Data.Length);
        Assert.False(source.TryRead(out _));
    }

    [Fact]
    public void Analyze_FileCutMidRecord_KeepsWhatCameBeforeAndSaysWhere()
    {
        var scenario = FieldReport();
        var full = scenario.WriteTo(PathOf("full.pcap"));
        var bytes = File.ReadAllBytes(full);
        File.WriteAllBytes(PathOf("cut.pcap"), bytes[..(bytes.Length - 30)]);
        var result = CaptureAnalyzer.AnalyzeFile(PathOf("cut.pcap"), new AnalysisOptions());
        Assert.NotNull(result.Error);
        Assert.StartsWith(PathOf("cut.pcap") + ": truncated dump file", result.Error);
        Assert.Contains($"after packet {scenario.Count - 1}", result.Error);
        Assert.Equal(scenario.Count - 1, result.Counters.Frames);
        // The deaf incident, long before the cut, is all there.
        Assert.Contains(result.Targets, t => t.Incidents.Count == 1);
    }

    [Fact]
    public void Analyze_LinuxCookedCapture_FindsTheSameIncident()
    {
        // Re-encode the field report as LINKTYPE_LINUX_SLL: source address kept, broadcast marked by packet type.
        var path = PathOf("sll.pcap");
        var scenario = FieldReport();
        using (var w = new PcapWriter(path, 113))
        {
            foreach (var (at, eth) in scenario.Frames())
            {
                var sll = new byte[16 + eth.Length - 14];
                var broadcast = eth.AsSpan(0, 6).SequenceEqual(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF });
                sll[1] = (byte)(broadcast ? 1 : 0);
                sll[3] = 1;
                sll[5] = 6;
                eth.AsSpan(6, 6).CopyTo(sll.AsSpan(6));
                eth.AsSpan(12).CopyTo(sll.AsSpan(14));
                w.Write(scenario.Start.AddTicks((long)(at * TimeSpan.TicksPerSecond)), sll);
            }
        }
        var result = CaptureAnalyzer.AnalyzeFile(path, new AnalysisOptions());
        Assert.Equal(LinkKind.LinuxSll, result.Link);
        var console = Assert.Single(result.Targets, t => Addresses.Ip(t.Ip) == GameConsole.Ip);
        var incident = Assert.Single(console.Incidents);
        Assert.Equal(ReachProbe.Verdict.TargetState.Deaf, incident.State);
        Assert.True(incident.Evidence.ArpUnansweredBroadcast > 0);
    }
}
