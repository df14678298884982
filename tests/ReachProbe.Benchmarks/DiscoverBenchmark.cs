using System.Diagnostics;
using System.Text;
using ReachProbe.Discovery;
using ReachProbe.Testing;
using ReachProbe.Wire;

namespace ReachProbe.Benchmarks;

/// <summary>
/// What discovery costs: the device catalog fed, in this process, a home LAN's mix of what devices say (ARP from 200
/// hosts, mDNS answers, SSDP NOTIFYs, DHCP requests, DDP answers, over and over) and then a flood of forged PlayStation
/// answers from unique MACs; frames a second and the managed heap after a full collection. Asserts nothing.
/// </summary>
internal static class DiscoverBenchmark
{
    public static int Run(int flood)
    {
        GC.Collect();
        var heap = GC.GetTotalMemory(true);
        var watch = Stopwatch.StartNew();
        var oui = OuiRegistry.Load();
        var loaded = watch.Elapsed;
        var ouiBytes = GC.GetTotalMemory(true) - heap;
        Console.WriteLine($"Discovery's device catalog (OUI registry: {(oui is null ? "missing" : $"{oui.Count:N0} prefixes, read in {loaded.TotalMilliseconds:N0} ms, {ouiBytes / 1024.0 / 1024:N1} MB")})");
        var all = new LanHost("198.18.0.255", "ff:ff:ff:ff:ff:ff");
        var home = new List<byte[]>();
        for (var i = 0; i < 200; i++)
        {
            var h = new LanHost($"198.18.0.{1 + i}", $"02:00:00:00:{i >> 8:x2}:{i & 0xFF:x2}");
            home.Add(Frames.GratuitousArp(h));
            switch (i % 5)
            {
                case 0: home.Add(Frames.Udp(h, all, 5353, 5353, Mdns($"host-{i}", h.Address.GetAddressBytes()))); break;
                case 1: home.Add(Frames.Udp(h, all, 1900, 1900, Encoding.ASCII.GetBytes($"NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\nSERVER: Linux UPnP/1.0 Device-{i}/1.0\r\n\r\n"))); break;
                case 2: home.Add(Frames.Udp(new LanHost("0.0.0.0", h.Mac), all, 68, 67, Frames.Dhcp(1, h.Mac, 3, $"tablet-{i}", "android-dhcp-14", h.Ip))); break;
                case 3: home.Add(Frames.Udp(h, all, 40000, 9303, Ddp(i))); break;
            }
        }
        Measure("home LAN mix, 200 devices", oui, Enumerable.Repeat(home, 500).SelectMany(x => x).ToList());
        var forged = Enumerable.Range(0, flood)
            .Select(i => Frames.Udp(new LanHost($"198.18.{1 + i / 250 % 250}.{1 + i % 250}", $"02:fe:{i >> 24 & 0xFF:x2}:{i >> 16 & 0xFF:x2}:{i >> 8 & 0xFF:x2}:{i & 0xFF:x2}"), all, 40000, 9303, Ddp(i)))
            .ToList();
        Measure($"{flood:N0} forged consoles, unique MACs", oui, forged);
        return 0;
    }

    private static void Measure(string what, OuiRegistry? oui, List<byte[]> frames)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var before = GC.GetTotalMemory(true);
        var catalog = new DeviceCatalog(oui);
        var watch = Stopwatch.StartNew();
        var t = DateTime.UtcNow.Ticks;
        foreach (var f in frames) catalog.Observe(LinkKind.Ethernet, f, t++);
        watch.Stop();
        var after = GC.GetTotalMemory(true);
        GC.KeepAlive(catalog);
        Console.WriteLine($"  {what}: {frames.Count:N0} frames in {watch.Elapsed.TotalMilliseconds:N0} ms ({frames.Count / watch.Elapsed.TotalSeconds:N0} frames/s); "
            + $"{catalog.Devices.Count:N0} devices kept, {catalog.NotKept:N0} not kept; catalog {(after - before) / 1024.0 / 1024:N1} MB");
    }

    private static byte[] Ddp(int i) => Encoding.ASCII.GetBytes(
        $"HTTP/1.1 200 Ok\nhost-id:{i:X12}\nhost-type:PS5\nhost-name:PS5-{i}\nsystem-version:09000000\ndevice-discovery-protocol-version:00030010\n");

    private static byte[] Mdns(string host, byte[] address)
    {
        var p = new List<byte> { 0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
        foreach (var label in $"{host}.local".Split('.'))
        {
            p.Add((byte)label.Length);
            p.AddRange(Encoding.ASCII.GetBytes(label));
        }
        p.AddRange([0, 0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4]);
        p.AddRange(address);
        return [.. p];
    }
}
