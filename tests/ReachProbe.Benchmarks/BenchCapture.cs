using System.Buffers.Binary;
using ReachProbe.Testing;

namespace ReachProbe.Benchmarks;

/// <summary>
/// Writes a large capture: the field report's incident replayed back to back (the signal, ~10 %) interleaved with
/// bulk TCP and UDP between other hosts (the background, ~90 %), about 1 KB a frame on average.
/// </summary>
internal static class BenchCapture
{
    public static void Write(string path, long packets, TextWriter progress)
    {
        var scenario = Scenarios.FieldReport().Frames().ToArray();
        var cycle = scenario[^1].At + 5;
        var background = BuildBackground();
        using var w = new PcapWriter(path);
        var start = new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);
        long written = 0, next = 0;
        var bg = 0;
        var seq = new uint[16];
        for (var f = 0; f < seq.Length; f++) seq[f] = 1;
        for (var round = 0; written < packets; round++)
        {
            for (var i = 0; i < scenario.Length && written < packets; i++)
            {
                var (at, frame) = scenario[i];
                var t = start.AddTicks((long)((round * cycle + at) * TimeSpan.TicksPerSecond));
                w.Write(t, frame);
                written++;
                // Nine background frames between this signal frame and the next.
                var gap = (i + 1 < scenario.Length ? scenario[i + 1].At : cycle) - at;
                for (var k = 1; k <= 9 && written < packets; k++, bg++)
                {
                    var (template, flow, kind) = background[bg % background.Length];
                    // A well-formed bulk transfer per flow: data segments in order, ACKs acknowledging them, so that
                    // tshark's TCP analysis sees ordinary traffic, not a storm of retransmissions.
                    if (kind == Segment.Data)
                    {
                        BinaryPrimitives.WriteUInt32BigEndian(template.AsSpan(14 + 20 + 4), seq[flow]);
                        seq[flow] += (uint)(template.Length - 54);
                    }
                    else if (kind == Segment.Ack)
                    {
                        BinaryPrimitives.WriteUInt32BigEndian(template.AsSpan(14 + 20 + 8), seq[flow]);
                    }
                    w.Write(t.AddTicks((long)(gap * k / 10 * TimeSpan.TicksPerSecond)), template);
                    written++;
                }
                if (written >= next)
                {
                    progress.Write($"\r  writing {written:N0} / {packets:N0} packets ({w.Length / 1e6:N0} MB)   ");
                    next = written + 250_000;
                }
            }
        }
        progress.WriteLine($"\r  wrote {written:N0} packets, {w.Length / 1e6:N0} MB to {path}          ");
    }

    private enum Segment { Data, Ack, Udp }

    private static (byte[] Frame, int Flow, Segment Kind)[] BuildBackground()
    {
        var frames = new List<(byte[], int, Segment)>();
        for (var pair = 0; pair < 16; pair++)
        {
            var a = new LanHost($"192.168.1.{100 + pair}", $"3c:22:fb:01:00:{pair:x2}");
            var b = new LanHost($"192.168.1.{150 + pair}", $"3c:22:fb:02:00:{pair:x2}");
            var sport = (ushort)(40000 + pair);
            // Bulk transfer: full-size segments one way, an ACK back every third, now and then a small UDP datagram.
            for (var k = 0; k < 3; k++) frames.Add((Frames.Tcp(a, b, sport, 443, 1, 1, 0x10, 1460), pair, Segment.Data));
            frames.Add((Frames.Tcp(b, a, 443, sport, 1, 1, 0x10), pair, Segment.Ack));
            if (pair % 4 == 0) frames.Add((Frames.Udp(a, b, 5004, 5004, new byte[172]), pair, Segment.Udp));
        }
        return [.. frames];
    }
}
