using System.Buffers.Binary;

namespace ReachProbe.Wire;

/// <summary>
/// Reads a classic pcap file (the four magic numbers: microsecond or nanosecond time stamps, either byte order) in
/// managed code, the way libpcap's <c>sf-pcap.c</c> does — the same checks, the same error texts — but with 1 MiB reads
/// and each record handed out as a span into the buffer: no call into libpcap and no copy per record. Reading through
/// libpcap cost a P/Invoke and a copy into libpcap's buffer for every frame, and capped the analysis below tcpdump's
/// filter pass over the same file (issue 18). pcapng files still go through libpcap (<see cref="CaptureFileSource"/>).
/// </summary>
internal sealed class PcapFileReader : IDisposable
{
    /// <summary>libpcap's largest snapshot length for the link types ReachProbe reads (MAXIMUM_SNAPLEN).</summary>
    public const int MaxSnaplen = 262_144;

    private const int HeaderBytes = 24, RecordHeaderBytes = 16, ReadSize = 1 << 20;
    private readonly FileStream _file;
    private readonly bool _swapped, _nanoseconds;
    private readonly int _snapshot;
    private readonly int _lengthsSwapped; // 0 no, 1 yes, 2 maybe (version 2.3: swapped only when caplen > len)
    private byte[] _buffer = new byte[ReadSize];
    private int _start, _end;
    private bool _eof;
    private long _read = HeaderBytes; // bytes read from the file so far

    private PcapFileReader(FileStream file, bool swapped, bool nanoseconds, int snapshot, int linkType, int lengthsSwapped)
    {
        _file = file;
        _swapped = swapped;
        _nanoseconds = nanoseconds;
        _snapshot = snapshot;
        LinkType = linkType;
        _lengthsSwapped = lengthsSwapped;
    }

    /// <summary>The file's link type (LINKTYPE_ value, without the FCS bits).</summary>
    public int LinkType { get; }

    /// <summary>Bytes of the file consumed so far.</summary>
    public long Position => _read - (_end - _start);

    /// <summary>True when <paramref name="magic"/> (the file's first four bytes, read big-endian) is a classic pcap's.</summary>
    public static bool IsClassic(uint magic) => magic is 0xA1B2C3D4 or 0xD4C3B2A1 or 0xA1B23C4D or 0x4D3CB2A1;

    /// <summary>Opens a classic pcap file; throws <see cref="CaptureException"/> with libpcap's reason when its header is bad.</summary>
    public static PcapFileReader Open(string path)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CaptureException($"{path}: cannot read: {e.Message}", e);
        }
        try
        {
            var h = new byte[HeaderBytes];
            var got = file.ReadAtLeast(h, HeaderBytes, throwOnEndOfStream: false);
            // libpcap reads the magic number first, then counts what it got of the other 20 bytes: its message, as it says it.
            if (got < HeaderBytes) throw new CaptureException($"{path}: truncated dump file; tried to read {HeaderBytes} file header bytes, only got {Math.Max(0, got - 4)}");
            var magic = BinaryPrimitives.ReadUInt32BigEndian(h);
            if (!IsClassic(magic)) throw new CaptureException($"{path}: not a pcap file (starts with 0x{magic:X8})");
            var swapped = magic is 0xD4C3B2A1 or 0x4D3CB2A1;
            var nanoseconds = magic is 0xA1B23C4D or 0x4D3CB2A1;
            uint U32(int at) => swapped ? BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(at)) : BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(at));
            ushort U16(int at) => swapped ? BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(at)) : BinaryPrimitives.ReadUInt16BigEndian(h.AsSpan(at));
            int major = U16(4), minor = U16(6);
            if (major < 2) throw new CaptureException($"{path}: archaic pcap savefile format");
            if (!(major == 2 && minor <= 4) && !(major == 543 && minor == 0))
                throw new CaptureException($"{path}: unsupported pcap savefile version {major}.{minor}");
            var snaplen = U32(16);
            var linkType = (int)(U32(20) & 0xFFFF); // LT_LINKTYPE: the upper bits hold the FCS length and reserved bits
            // As libpcap: a snapshot length of 0 or above the maximum is taken as the maximum.
            var snapshot = snaplen == 0 || snaplen > MaxSnaplen ? MaxSnaplen : (int)snaplen;
            var lengthsSwapped = major == 2 && minor < 3 ? 1 : major == 2 && minor == 3 ? 2 : 0;
            return new PcapFileReader(file, swapped, nanoseconds, snapshot, linkType, lengthsSwapped);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The next record: true with a frame (<paramref name="data"/> valid until the next call), false at the end of the
    /// file. Throws <see cref="CaptureException"/> (without the path: the caller names the file and the packet) when a
    /// record is truncated or its length is impossible.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool Next(out long ticks, out ReadOnlySpan<byte> data, out int originalLength)
    {
        if (!Ensure(RecordHeaderBytes))
        {
            var have = _end - _start;
            ticks = 0;
            data = default;
            originalLength = 0;
            if (have == 0) return false;
            throw new CaptureException($"truncated dump file; tried to read {RecordHeaderBytes} header bytes, only got {have}");
        }
        var h = _buffer.AsSpan(_start, RecordHeaderBytes);
        uint sec, sub, caplen, len;
        if (_swapped)
        {
            sec = BinaryPrimitives.ReadUInt32LittleEndian(h);
            sub = BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
            caplen = BinaryPrimitives.ReadUInt32LittleEndian(h[8..]);
            len = BinaryPrimitives.ReadUInt32LittleEndian(h[12..]);
        }
        else
        {
            sec = BinaryPrimitives.ReadUInt32BigEndian(h);
            sub = BinaryPrimitives.ReadUInt32BigEndian(h[4..]);
            caplen = BinaryPrimitives.ReadUInt32BigEndian(h[8..]);
            len = BinaryPrimitives.ReadUInt32BigEndian(h[12..]);
        }
        if (_lengthsSwapped == 1 || (_lengthsSwapped == 2 && caplen > len)) (caplen, len) = (len, caplen);
        if (caplen > MaxSnaplen)
        {
            throw new CaptureException(caplen > _snapshot
                ? $"invalid packet capture length {caplen}, bigger than snaplen of {_snapshot}"
                : $"invalid packet capture length {caplen}, bigger than maximum of {MaxSnaplen}");
        }
        _start += RecordHeaderBytes;
        // A record longer than the file's snapshot length (and not above the maximum): its first snapshot bytes are the
        // frame, the rest is skipped — as libpcap does.
        var keep = (int)Math.Min(caplen, (uint)_snapshot);
        if (!Ensure((int)caplen))
        {
            var have = _end - _start;
            throw new CaptureException($"truncated dump file; tried to read {(have < keep ? keep : caplen)} captured bytes, only got {have}");
        }
        data = _buffer.AsSpan(_start, keep);
        _start += (int)caplen;
        originalLength = (int)Math.Min(len, int.MaxValue);
        ticks = CaptureFileSource.ToTicks(sec, _nanoseconds ? sub : sub * 1000L);
        return true;
    }

    /// <summary>True when <paramref name="count"/> bytes are buffered from <see cref="_start"/>, reading more as needed.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private bool Ensure(int count)
    {
        if (_end - _start >= count) return true;
        if (_eof) return false;
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (count > _buffer.Length) Array.Resize(ref _buffer, Math.Max(count, _buffer.Length * 2));
        while (_end < count)
        {
            int n;
            try
            {
                n = _file.Read(_buffer, _end, _buffer.Length - _end);
            }
            catch (IOException e)
            {
                throw new CaptureException($"cannot read: {e.Message}", e);
            }
            if (n == 0)
            {
                _eof = true;
                return false;
            }
            _end += n;
            _read += n;
        }
        return true;
    }

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();
}
