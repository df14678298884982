using System.Buffers.Binary;

namespace ReachProbe.Testing;

/// <summary>Writes classic pcap files (nanosecond timestamps) for tests and benchmarks. Deliberately independent of the reader under test.</summary>
public sealed class PcapWriter : IDisposable
{
    private readonly Stream _out;
    private readonly byte[] _header = new byte[16];

    /// <summary>Creates the file and writes the global header.</summary>
    public PcapWriter(string path, int linkType = 1, int snapLength = 262144)
    {
        _out = new BufferedStream(File.Create(path), 1 << 20);
        Span<byte> g = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(g, 0xA1B23C4D); // nanosecond magic
        BinaryPrimitives.WriteUInt16LittleEndian(g[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(g[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(g[16..], (uint)snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(g[20..], (uint)linkType);
        _out.Write(g);
    }

    /// <summary>Bytes written so far.</summary>
    public long Length => _out.Position;

    /// <summary>Appends one record.</summary>
    public void Write(DateTime utc, ReadOnlySpan<byte> frame, int? originalLength = null)
    {
        var since = utc.Ticks - DateTime.UnixEpoch.Ticks;
        BinaryPrimitives.WriteUInt32LittleEndian(_header, (uint)(since / TimeSpan.TicksPerSecond));
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(4), (uint)(since % TimeSpan.TicksPerSecond * 100));
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(8), (uint)frame.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(12), (uint)(originalLength ?? frame.Length));
        _out.Write(_header);
        _out.Write(frame);
    }

    /// <inheritdoc/>
    public void Dispose() => _out.Dispose();
}
