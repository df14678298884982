using System.Runtime.InteropServices;
using SharpPcap;
using SharpPcap.LibPcap;

namespace ReachProbe.Wire;

/// <summary>
/// Reads pcap and pcapng files: classic pcap in managed code (<see cref="PcapFileReader"/>, libpcap's checks and
/// messages, a span per record), pcapng through SharpPcap (libpcap). Checks the file first so that the common mistakes
/// get a precise message, and never lets a reader's error escape as anything but a <see cref="CaptureException"/>.
/// </summary>
public sealed class CaptureFileSource : ICaptureSource
{
    private readonly CaptureHandleReaderDevice? _device;
    private readonly BufferedFile? _file;
    private readonly PcapFileReader? _reader;
    private long _index;

    private CaptureFileSource(string path, CaptureHandleReaderDevice? device, BufferedFile? file, PcapFileReader? reader, LinkKind link, long size)
    {
        Name = path;
        _device = device;
        _file = file;
        _reader = reader;
        Link = link;
        FileSize = size;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public LinkKind Link { get; }

    /// <summary>File size in bytes.</summary>
    public long FileSize { get; }

    /// <summary>Approximate bytes consumed so far (record headers plus captured data), for progress.</summary>
    public long BytesRead { get; private set; }

    /// <summary>Opens a capture file, or throws <see cref="CaptureException"/> naming what is wrong with it.</summary>
    public static CaptureFileSource Open(string path) => Open(path, viaLibpcap: false);

    /// <summary>Opens a capture file; <paramref name="viaLibpcap"/> reads a classic pcap through libpcap too (tests compare the two readers).</summary>
    internal static CaptureFileSource Open(string path, bool viaLibpcap)
    {
        long size;
        Span<byte> magic = stackalloc byte[4];
        int got;
        try
        {
            if (Directory.Exists(path)) throw new CaptureException($"{path}: is a directory, not a capture file");
            var info = new FileInfo(path);
            if (!info.Exists) throw new CaptureException($"{path}: no such file");
            size = info.Length;
            if (size == 0) throw new CaptureException($"{path}: empty file (0 bytes), not a capture");
            using var fs = File.OpenRead(path);
            got = fs.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CaptureException($"{path}: cannot read: {e.Message}", e);
        }
        if (got < 4) throw new CaptureException($"{path}: only {got} bytes, too short to be a capture");
        if (magic[0] == 0x1F && magic[1] == 0x8B)
            throw new CaptureException($"{path}: gzip-compressed; decompress it first (gunzip -k {path})");
        var m = (uint)(magic[0] << 24 | magic[1] << 16 | magic[2] << 8 | magic[3]);
        if (m is not (0xD4C3B2A1 or 0xA1B2C3D4 or 0x4D3CB2A1 or 0xA1B23C4D or 0x0A0D0D0A))
            throw new CaptureException($"{path}: not a pcap or pcapng file (starts with 0x{m:X8})");

        if (PcapFileReader.IsClassic(m) && !viaLibpcap)
        {
            var reader = PcapFileReader.Open(path);
            if (!Enum.IsDefined((LinkKind)reader.LinkType))
            {
                reader.Dispose();
                throw new CaptureException($"{path}: unsupported link type {reader.LinkType} ({LinkTypeName(reader.LinkType)}); ReachProbe reads Ethernet (1), Linux cooked SLL (113) and SLL2 (276)");
            }
            return new CaptureFileSource(path, null, null, reader, (LinkKind)reader.LinkType, size);
        }
        var stream = BufferedFile.Open(path);
        var device = new CaptureHandleReaderDevice(stream.Handle);
        try
        {
            device.Open(new DeviceConfiguration { TimestampResolution = TimestampResolution.Nanosecond });
        }
        catch (PcapException e)
        {
            stream.Release(closedByLibpcap: false);
            throw new CaptureException($"{path}: {Clean(e.Message)}", e);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            stream.Release(closedByLibpcap: false);
            throw new CaptureException(CaptureException.NoLibpcap, e);
        }
        // libpcap hands back DLT_ values; they equal the file's LINKTYPE_ values except raw IP (LINKTYPE 101 is DLT_RAW, 12 on Linux).
        var dlt = (int)device.LinkType;
        if (dlt == 12) dlt = 101;
        if (!Enum.IsDefined((LinkKind)dlt))
        {
            device.Close();
            stream.Release(closedByLibpcap: true);
            throw new CaptureException($"{path}: unsupported link type {dlt} ({LinkTypeName(dlt)}); ReachProbe reads Ethernet (1), Linux cooked SLL (113) and SLL2 (276)");
        }
        return new CaptureFileSource(path, device, stream, null, (LinkKind)dlt, size);
    }

    /// <inheritdoc/>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool TryRead(out CapturedFrame frame)
    {
        if (_reader is not null)
        {
            bool got;
            long ticks;
            ReadOnlySpan<byte> bytes;
            int length;
            try
            {
                got = _reader.Next(out ticks, out bytes, out length);
            }
            catch (CaptureException e)
            {
                throw new CaptureException($"{Name}: {e.Message} (after packet {_index})", e);
            }
            if (!got)
            {
                frame = default;
                return false;
            }
            _index++;
            BytesRead = _reader.Position;
            frame = new CapturedFrame(ticks, bytes, length);
            return true;
        }
        while (true)
        {
            var res = PcapRecord.Next(_device!, out var ticks, out var data, out var len);
            if (res == 0) continue; // a timeout only happens on live handles
            if (res == -2)
            {
                frame = default;
                return false;
            }
            if (res != 1) throw new CaptureException($"{Name}: {Clean(_device!.LastError)} (after packet {_index})");
            _index++;
            BytesRead += data.Length + 16;
            frame = new CapturedFrame(ticks, data, len);
            break;
        }
        return true;
    }

    /// <summary>Converts a capture timestamp to UTC ticks, clamping values outside DateTime's range (corrupt headers).</summary>
    internal static long ToTicks(long sec, long nsec)
    {
        const long maxSec = 253402300799; // 9999-12-31T23:59:59Z
        if (sec < 0) sec = 0;
        if (sec > maxSec) sec = maxSec;
        if (nsec is < 0 or >= 1_000_000_000) nsec = 0;
        return DateTime.UnixEpoch.Ticks + sec * TimeSpan.TicksPerSecond + nsec / 100;
    }

    private static string Clean(string message)
    {
        const string prefix = "Unable to open offline adapter: ";
        var m = message.StartsWith(prefix, StringComparison.Ordinal) ? message[prefix.Length..] : message;
        return m.Trim();
    }

    private static string LinkTypeName(int dlt) => dlt switch
    {
        0 => "BSD loopback",
        9 => "PPP",
        101 => "raw IP",
        105 => "IEEE 802.11",
        127 => "802.11 radiotap",
        195 => "IEEE 802.15.4",
        228 => "raw IPv4",
        229 => "raw IPv6",
        _ => "see tcpdump.org/linktypes.html",
    };

    /// <inheritdoc/>
    public void Dispose()
    {
        _reader?.Dispose();
        _device?.Close();
        _file?.Release(closedByLibpcap: true);
    }
}
