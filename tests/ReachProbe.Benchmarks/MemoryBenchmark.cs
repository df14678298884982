using System.Buffers.Binary;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using ReachProbe.Agent;
using ReachProbe.Probes;
using ReachProbe.Testing;
using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Benchmarks;

/// <summary>
/// What a target costs the agent in memory: the analysis pipeline (a host, its trackers and verdict engine) and its
/// metric series, built for N targets in this process and measured on the managed heap after a full collection —
/// at rest, after a minute of healthy icmp + arp probing every second, and under the worst a LAN can send: a flood
/// of unique unanswered requests of every tracked kind at every target, which fills every tracker's table to its
/// bound (<see cref="Wire.Trackers.SignatureTracker.TableCapacityFor"/> n targets, as the agent sizes them). Asserts nothing.
/// </summary>
internal static class MemoryBenchmark
{
    private const int FloodPerKind = 1_100; // above the largest bound of a table

    public static int Run(IReadOnlyList<int> sizes)
    {
        Console.WriteLine("Per-target memory (managed heap after a full GC; pipeline + verdict + metric series)");
        Console.WriteLine($"{"targets",8} {"table",6} {"built",10} {"healthy 60 s",13} {"flooded",10}   {"per target: healthy",20} {"flooded",9}");
        foreach (var n in sizes) Once(n);
        return 0;
    }

    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(true);
    }

    private static void Once(int n)
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = new FakeTimeProvider(start);
        var monitor = new LanHost("198.18.16.1", "02:00:00:00:00:01");
        var hosts = Enumerable.Range(0, n).Select(i => new LanHost($"198.18.{16 + (i + 2) / 256}.{(i + 2) % 256}", $"02:00:00:{i >> 16 & 0xff:x2}:{i >> 8 & 0xff:x2}:{i & 0xff:x2}")).ToList();
        var before = Heap();

        // Sized as the agent sizes it for n targets (AgentLoop).
        var capacity = Wire.Trackers.SignatureTracker.TableCapacityFor(n);
        var pipeline = new WirePipeline(new VerdictOptions(), clock, hosts.ToDictionary(h => (UInt128)Ip(h.Address), _ => 0UL), tableCapacity: capacity) { Monitor = Ip(monitor.Address) };
        var metrics = new AgentMetrics(Metrics.NewCustomRegistry());
        foreach (var h in hosts)
        {
            metrics.SetState(h.Ip, TargetState.Unknown);
            metrics.Info(h.Ip, [h.Ip, "", "", ""], null);
        }
        var built = Heap();

        // A minute of healthy probing: our echo request and its reply, our who-has and its reply, every second.
        var t = start.UtcTicks;
        var random = new Random(1);
        for (var round = 0; round < 60; round++)
        {
            for (var i = 0; i < n; i++)
            {
                var h = hosts[i];
                var at = t + round * TimeSpan.TicksPerSecond + i * TimeSpan.TicksPerSecond / n;
                pipeline.Process(LinkKind.Ethernet, Frames.EchoRequest(monitor, h, 0x4242, (ushort)round), at);
                pipeline.Process(LinkKind.Ethernet, Frames.EchoReply(h, monitor, 0x4242, (ushort)round), at + 2_000);
                pipeline.Process(LinkKind.Ethernet, Frames.ArpRequest(monitor, h.Ip), at + 5_000_000);
                pipeline.Process(LinkKind.Ethernet, Frames.ArpReply(h, monitor), at + 5_002_000);
                foreach (var probe in new[] { "icmp", "arp" })
                    metrics.Probe(h.Ip, new ProbeResult(probe, ProbeStatus.Answered, TimeSpan.FromTicks(random.Next(1_000, 20_000)), "ok"));
                metrics.LastFrame(h.Ip, at + 5_002_000);
                if (round == 0)
                {
                    metrics.SetState(h.Ip, TargetState.Up);
                    metrics.StateChanged(h.Ip, TargetState.Up);
                    metrics.Info(h.Ip, [h.Ip, h.Mac, "", ""], [h.Ip, "", "", ""]);
                }
            }
            clock.SetUtcNow(start.AddSeconds(round + 1));
        }
        var healthy = Heap();

        // The flood: within one second per target, unique unanswered echo requests to it, who-has for it, and from it
        // DNS queries, SYNs and who-has for other addresses — each kind past its tracker's bound.
        t = start.AddSeconds(61).UtcTicks;
        var stranger = new LanHost("198.18.31.1", "02:00:00:ff:00:01");
        foreach (var h in hosts)
        {
            var echo = Frames.EchoRequest(stranger, h, 0x9999, 0);
            var whoHas = Frames.ArpRequest(stranger, h.Ip);
            var dns = Frames.DnsQuery(h, monitor, 40000, 0, "example.org");
            var syn = Frames.Tcp(h, monitor, 0, 443, 1, 0, 0x02);
            var itsWhoHas = Frames.ArpRequest(h, "198.18.30.0");
            for (var k = 0; k < FloodPerKind; k++)
            {
                var at = t + k * TimeSpan.TicksPerMillisecond / 2;
                BinaryPrimitives.WriteUInt16BigEndian(echo.AsSpan(14 + 20 + 6), (ushort)k);                 // ICMP sequence
                BinaryPrimitives.WriteUInt32BigEndian(whoHas.AsSpan(14 + 14), 0xC6121F00u + (uint)k);       // asking host's address
                BinaryPrimitives.WriteUInt16BigEndian(dns.AsSpan(14 + 20 + 8), (ushort)k);                  // DNS id
                BinaryPrimitives.WriteUInt16BigEndian(syn.AsSpan(14 + 20), (ushort)(10_000 + k));            // source port
                BinaryPrimitives.WriteUInt32BigEndian(itsWhoHas.AsSpan(14 + 24), 0xC6121E00u + (uint)k);    // address asked for
                foreach (var frame in new[] { echo, whoHas, dns, syn, itsWhoHas }) pipeline.Process(LinkKind.Ethernet, frame, at);
            }
        }
        var flooded = Heap();
        GC.KeepAlive(pipeline);
        GC.KeepAlive(metrics);
        static string Mb(long b) => $"{b / 1048576.0,7:0.0} MB";
        Console.WriteLine($"{n,8:N0} {capacity,6:N0} {Mb(built - before),10} {Mb(healthy - before),13} {Mb(flooded - before),10}   {(healthy - before) / 1024.0 / n,17:0.0} KB {(flooded - before) / 1024.0 / n,6:0} KB");
    }

    private static uint Ip(IPAddress a) => BinaryPrimitives.ReadUInt32BigEndian(a.GetAddressBytes());
}
