using System.Buffers.Binary;
using ReachProbe.Tests.Corpus;
using ReachProbe.Wire;

namespace ReachProbe.Tests.Wire;

/// <summary>
/// The managed classic-pcap reader against libpcap: the same records (time, bytes, length on the wire) and the same
/// errors over every classic pcap of the shared corpus, and files written here for each rule of the format.
/// </summary>
public sealed class PcapFileReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reachprobe-pcap-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<(long Time, string Data, int Length)> ReadAll(string path, bool viaLibpcap, out string? error)
    {
        var records = new List<(long, string, int)>();
        error = null;
        try
        {
            using var source = CaptureFileSource.Open(path, viaLibpcap);
            while (source.TryRead(out var f)) records.Add((f.Time, Convert.ToHexString(f.Data), f.OriginalLength));
        }
        catch (CaptureException e)
        {
            error = e.Message;
        }
        return records;
    }

    [SkippableFact]
    public void EveryClassicPcapOfTheCorpus_ReadsAsLibpcapReadsIt()
    {
        var dir = SharedCorpus.Require();
        var compared = 0;
        var differences = new List<string>();
        foreach (var path in Directory.EnumerateFiles(dir).Order())
        {
            var head = new byte[4];
            using (var fs = File.OpenRead(path)) if (fs.Read(head) < 4) continue;
            if (!PcapFileReader.IsClassic(BinaryPrimitives.ReadUInt32BigEndian(head))) continue;
            compared++;
            var ours = ReadAll(path, viaLibpcap: false, out var ourError);
            var theirs = ReadAll(path, viaLibpcap: true, out var theirError);
            var name = Path.GetFileName(path);
            // libpcap 1.10 reads the seconds as a signed 32-bit number: past 2038-01-19 a time goes negative (and
            // ReachProbe clamps it to 1970). The format says unsigned (draft-ietf-opsawg-pcap), and so does this
            // reader: tcpdump's time_2038/2039/2106 captures are read as the years they name.
            var y2038 = new DateTime(2038, 1, 19, 3, 14, 8, DateTimeKind.Utc).Ticks;
            theirs = theirs.Zip(ours, (t, o) => t.Time == DateTime.UnixEpoch.Ticks && o.Time >= y2038 && t.Data == o.Data ? o : t).Concat(theirs.Skip(ours.Count)).ToList();
            if (!ours.SequenceEqual(theirs))
                differences.Add($"{name}: {ours.Count} records here, {theirs.Count} by libpcap; first difference at {ours.Zip(theirs).TakeWhile(p => p.First == p.Second).Count()}");
            if ((ourError is null) != (theirError is null)) differences.Add($"{name}: error '{ourError}' here, '{theirError}' by libpcap");
        }
        Assert.True(compared > 100, $"only {compared} classic pcap files in the corpus");
        Assert.Empty(differences);
    }

    /// <summary>A classic pcap file: the header's fields as given, then records (sec, sub-second, caplen, len, bytes).</summary>
    private string Write(string name, uint magic, bool bigEndian, ushort major, ushort minor, uint snaplen, params (uint Sec, uint Sub, uint Caplen, uint Len, int Bytes)[] records)
    {
        using var ms = new MemoryStream();
        void U32(uint v)
        {
            Span<byte> b = stackalloc byte[4];
            if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b, v); else BinaryPrimitives.WriteUInt32LittleEndian(b, v);
            ms.Write(b);
        }
        void U16(ushort v)
        {
            Span<byte> b = stackalloc byte[2];
            if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(b, v); else BinaryPrimitives.WriteUInt16LittleEndian(b, v);
            ms.Write(b);
        }
        U32(magic);
        U16(major);
        U16(minor);
        U32(0);
        U32(0);
        U32(snaplen);
        U32(1);
        var fill = 0;
        foreach (var r in records)
        {
            U32(r.Sec);
            U32(r.Sub);
            U32(r.Caplen);
            U32(r.Len);
            for (var i = 0; i < r.Bytes; i++) ms.WriteByte((byte)fill++);
        }
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, ms.ToArray());
        return path;
    }

    [Theory]
    [InlineData(0xA1B2C3D4u, true)] // microseconds, big-endian writer
    [InlineData(0xA1B2C3D4u, false)] // microseconds, little-endian writer
    [InlineData(0xA1B23C4Du, true)] // nanoseconds
    [InlineData(0xA1B23C4Du, false)]
    public void Next_EachMagicAndByteOrder_ReadsAsLibpcap(uint magic, bool bigEndian)
    {
        var path = Write("m.pcap", magic, bigEndian, 2, 4, 65535, (1_700_000_000, 123_456, 60, 60, 60), (1_700_000_001, 999_999, 42, 1514, 42));
        var ours = ReadAll(path, false, out var e1);
        Assert.Null(e1);
        Assert.Equal(ReadAll(path, true, out var e2), ours);
        Assert.Null(e2);
        Assert.Equal(2, ours.Count);
        Assert.Equal(1514, ours[1].Length);
    }

    [Fact]
    public void Next_RecordLongerThanTheSnapshot_KeepsTheSnapshotAndSkipsTheRest_AsLibpcap()
    {
        var path = Write("snap.pcap", 0xA1B2C3D4, false, 2, 4, 64, (1, 0, 100, 100, 100), (2, 0, 50, 50, 50));
        var ours = ReadAll(path, false, out var e1);
        Assert.Equal(ReadAll(path, true, out var e2), ours);
        Assert.Equal((e2 is null), (e1 is null));
        Assert.Equal([64, 50], ours.Select(r => r.Data.Length / 2));
    }

    [Fact]
    public void Next_CaptureLengthAboveTheMaximum_IsAnErrorAfterThePacketsBefore()
    {
        var path = Write("huge.pcap", 0xA1B2C3D4, false, 2, 4, 65535, (1, 0, 60, 60, 60), (2, 0, 300_000, 300_000, 10));
        var ours = ReadAll(path, false, out var ourError);
        var theirs = ReadAll(path, true, out var theirError);
        Assert.Equal(theirs, ours);
        Assert.Single(ours);
        Assert.Equal($"{path}: invalid packet capture length 300000, bigger than snaplen of 65535 (after packet 1)", ourError);
        Assert.NotNull(theirError);
    }

    [Fact]
    public void Next_RecordHeaderCutShort_IsTruncated()
    {
        var path = Write("cut.pcap", 0xA1B2C3D4, false, 2, 4, 65535, (1, 0, 60, 60, 60));
        File.AppendAllText(path, "12345678");
        var ours = ReadAll(path, false, out var ourError);
        Assert.Single(ours);
        Assert.Equal($"{path}: truncated dump file; tried to read 16 header bytes, only got 8 (after packet 1)", ourError);
        ReadAll(path, true, out var theirError);
        Assert.StartsWith($"{path}: truncated dump file; tried to read 16 header bytes, only got 8", theirError);
    }

    [Theory]
    [InlineData(1, 0, "archaic pcap savefile format")]
    [InlineData(3, 0, "unsupported pcap savefile version 3.0")]
    public void Open_BadVersion_IsRefusedAsLibpcapRefusesIt(ushort major, ushort minor, string reason)
    {
        var path = Write("v.pcap", 0xA1B2C3D4, false, major, minor, 65535);
        var e = Assert.Throws<CaptureException>(() => CaptureFileSource.Open(path));
        Assert.Equal($"{path}: {reason}", e.Message);
        Assert.Throws<CaptureException>(() => CaptureFileSource.Open(path, viaLibpcap: true));
    }

    [Fact]
    public void Next_Version22_LengthsAreSwappedAsLibpcapSwapsThem()
    {
        var path = Write("old.pcap", 0xA1B2C3D4, false, 2, 2, 65535, (1, 0, 1514, 60, 60));
        var ours = ReadAll(path, false, out _);
        Assert.Equal(ReadAll(path, true, out _), ours);
    }
}
