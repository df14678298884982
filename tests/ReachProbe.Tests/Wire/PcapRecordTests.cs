using SharpPcap;
using SharpPcap.LibPcap;
using ReachProbe.Testing;
using ReachProbe.Wire;

namespace ReachProbe.Tests.Wire;

/// <summary>
/// libpcap's record header is read in place only where its layout is known (64-bit Linux); everywhere else — 32-bit
/// Raspberry Pi OS among them — SharpPcap's accessor reads it. Both paths, over the same capture through libpcap, give
/// the same records: the guard holds, and the fallback is right.
/// </summary>
public sealed class PcapRecordTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reachprobe-record-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<(long Ticks, int Length, byte[] Data)> Read(string path, bool inPlace)
    {
        using var device = new CaptureFileReaderDevice(path);
        device.Open(new DeviceConfiguration { TimestampResolution = TimestampResolution.Nanosecond });
        var records = new List<(long, int, byte[])>();
        while (PcapRecord.Next(device, inPlace, out var ticks, out var data, out var length) == 1) records.Add((ticks, length, data.ToArray()));
        return records;
    }

    [Fact]
    public void InPlace_OnlyOn64BitLinux()
    {
        Assert.Equal(OperatingSystem.IsLinux() && Environment.Is64BitProcess, PcapRecord.InPlace);
    }

    [Fact]
    public void InPlaceAndSharpPcapsAccessor_ReadTheSameRecords()
    {
        var path = Scenarios.FieldReport().WriteTo(Path.Combine(_dir, "field-report.pcap"));
        var fallback = Read(path, inPlace: false);
        Assert.Equal(4907, fallback.Count);
        if (!PcapRecord.InPlace) return; // elsewhere only the accessor exists, and it read every record
        var inPlace = Read(path, inPlace: true);
        Assert.Equal(inPlace.Count, fallback.Count);
        for (var i = 0; i < inPlace.Count; i++)
        {
            // SharpPcap's accessor goes through DateTime: microsecond-exact captures agree to the tick.
            Assert.Equal(inPlace[i].Ticks, fallback[i].Ticks);
            Assert.Equal(inPlace[i].Length, fallback[i].Length);
            Assert.Equal(inPlace[i].Data, fallback[i].Data);
        }
    }
}
