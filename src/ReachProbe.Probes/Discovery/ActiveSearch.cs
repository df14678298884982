using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using ReachProbe.Probes;
using ReachProbe.Wire;
using SharpPcap;
using SharpPcap.LibPcap;

namespace ReachProbe.Discovery;

/// <summary>The interface <c>discover --active</c> asks from: its IPv4 address, prefix and MAC.</summary>
/// <param name="Interface">Its name.</param>
/// <param name="Address">Its IPv4 address.</param>
/// <param name="Prefix">The subnet's prefix length.</param>
/// <param name="Mac">Its MAC.</param>
public sealed record LocalLink(string Interface, uint Address, int Prefix, ulong Mac)
{
    /// <summary>The subnet's first and last host addresses (none for a /31 or /32).</summary>
    public (uint First, uint Last) Hosts
    {
        get
        {
            if (Prefix >= 31) return (1, 0);
            var mask = uint.MaxValue << (32 - Prefix);
            return ((Address & mask) + 1, (Address | ~mask) - 1);
        }
    }

    /// <summary>The subnet's broadcast address.</summary>
    public uint Broadcast => Prefix >= 31 ? Address : Address | ~(uint.MaxValue << (32 - Prefix));

    /// <summary>The interface's first IPv4 address, prefix and MAC, or null with the reason.</summary>
    public static LocalLink? Of(string iface, out string? problem)
    {
        try
        {
            var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == iface);
            if (nic is null)
            {
                problem = $"no interface {iface}";
                return null;
            }
            var u = nic.GetIPProperties().UnicastAddresses.FirstOrDefault(a => a.Address.AddressFamily == AddressFamily.InterNetwork);
            var mac = nic.GetPhysicalAddress().GetAddressBytes();
            if (u is null || mac.Length != 6)
            {
                problem = $"{iface} has no IPv4 address (or no MAC) to ask from";
                return null;
            }
            problem = null;
            return new LocalLink(iface, Addresses.ToUInt(u.Address), u.PrefixLength, ((ulong)BinaryPrimitives.ReadUInt16BigEndian(mac) << 32) | BinaryPrimitives.ReadUInt32BigEndian(mac.AsSpan(2)));
        }
        catch (NetworkInformationException e)
        {
            problem = $"cannot read {iface}: {e.Message}";
            return null;
        }
    }
}

/// <summary>
/// One ICMPv6 echo request to all nodes (ff02::1) on a link, from the interface's global (or unique-local) IPv6 address:
/// every IPv6 host answers from its own address of that scope — asking for the interface's MAC first, from that address
/// — so its IPv6 address shows in its neighbour discovery and its reply (<c>discover --active</c>; the agent, for a
/// device watched by its MAC whose IPv6 address it has not heard).
/// </summary>
public static class AllNodesEcho
{
    /// <summary>Bytes the request takes on the wire (Ethernet, IPv6 and ICMPv6 headers, 8 bytes of data).</summary>
    public const int WireBytes = 14 + 40 + 16;

    /// <summary>
    /// Sends it on <paramref name="iface"/>. False with a reason when it could not be sent; false with none when the
    /// interface has no global or unique-local IPv6 address to ask from (nothing to do).
    /// </summary>
    public static bool Send(string iface, out string? problem)
    {
        problem = null;
        NetworkInterface? nic;
        try
        {
            nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == iface);
        }
        catch (NetworkInformationException)
        {
            return false;
        }
        var properties = nic?.GetIPProperties();
        var source = properties?.UnicastAddresses.Select(u => u.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetworkV6 && WirePipeline.IsWatchableV6(Addresses.ToKey(a)));
        if (source is null || properties!.GetIPv6Properties() is not { } v6) return false;
        var echo = new byte[16];
        echo[0] = 128; // echo request; the kernel fills the checksum of a raw ICMPv6 socket
        BinaryPrimitives.WriteUInt16BigEndian(echo.AsSpan(4), (ushort)Environment.ProcessId);
        BinaryPrimitives.WriteUInt16BigEndian(echo.AsSpan(6), 1);
        try
        {
            using var raw = new Socket(AddressFamily.InterNetworkV6, SocketType.Raw, ProtocolType.IcmpV6);
            raw.Bind(new IPEndPoint(source, 0));
            raw.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastInterface, v6.Index);
            raw.SendTo(echo, new IPEndPoint(new IPAddress(IPAddress.Parse("ff02::1").GetAddressBytes(), v6.Index), 0));
            return true;
        }
        catch (SocketException e)
        {
            problem = $"cannot send the IPv6 echo to ff02::1 on {iface}: {e.Message}";
            return false;
        }
    }
}

/// <summary>
/// <c>discover --active</c>'s polite questions, each asked once: a PlayStation discovery (DDP) search for PS4 and PS5 to
/// the subnet's broadcast address, an SSDP M-SEARCH (MX 2), an mDNS service enumeration, and an ARP sweep of the
/// interface's own subnet at arp-scan's default pace (256 kbit/s; 2 tries, the second 500 ms after the first pass, only
/// to addresses that have not answered). Never beyond the interface's own subnet. What was sent is counted.
/// </summary>
public sealed class ActiveSearch(LocalLink link)
{
    /// <summary>The largest subnet swept unless told otherwise: a /22 is 1,022 addresses, 4 s at the pace.</summary>
    public const int DefaultSweepPrefix = 22;

    /// <summary>arp-scan's default bandwidth, bits a second.</summary>
    public const int Bandwidth = 256_000;

    /// <summary>Bytes an ARP request takes on the wire as arp-scan counts it (the 60-byte minimum frame and the 4-byte FCS).</summary>
    public const int ArpWireBytes = 64;

    /// <summary>The second try waits this long after the first pass.</summary>
    public static readonly TimeSpan SecondTry = TimeSpan.FromMilliseconds(500);

    /// <summary>Frames and bytes (UDP payloads with their headers, ARP frames) sent, by what they asked.</summary>
    public Dictionary<string, (int Frames, long Bytes)> Sent { get; } = [];

    /// <summary>Why the sweep could not be made (no capture device, no permission), or null.</summary>
    public string? Problem { get; private set; }

    private void Count(string what, int bytes)
    {
        lock (Sent)
        {
            var (f, b) = Sent.GetValueOrDefault(what);
            Sent[what] = (f + 1, b + bytes);
        }
    }

    /// <summary>The UDP searches: DDP (PS4, PS5), SSDP M-SEARCH, mDNS service enumeration. Sent from the interface's address.</summary>
    public void SendSearches()
    {
        var local = Addresses.ToIPAddress(link.Address);
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { EnableBroadcast = true };
        udp.Bind(new IPEndPoint(local, 0));
        // Multicast leaves by this interface, whatever the routes say (a lab namespace, or a host with no default route).
        udp.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, local.GetAddressBytes());
        SendDdp(udp);
        Send(udp, "ssdp", Encoding.ASCII.GetBytes("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 2\r\nST: ssdp:all\r\n\r\n"),
            new IPEndPoint(IPAddress.Parse("239.255.255.250"), 1900));
        Send(udp, "mdns", MdnsServiceQuery, new IPEndPoint(IPAddress.Parse("224.0.0.251"), 5353));
        SendEcho6();
    }

    private void SendEcho6()
    {
        if (AllNodesEcho.Send(link.Interface, out var problem)) Count("icmp6", AllNodesEcho.WireBytes);
        else if (problem is not null) Problem ??= problem;
    }

    /// <summary>One PlayStation discovery (DDP) search for PS4 and PS5, to the subnet's broadcast address (the agent's, every <c>discover.intervalSeconds</c>).</summary>
    public void SendDdpSearch()
    {
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { EnableBroadcast = true };
        udp.Bind(new IPEndPoint(Addresses.ToIPAddress(link.Address), 0));
        SendDdp(udp);
    }

    private void SendDdp(Socket udp)
    {
        var broadcast = Addresses.ToIPAddress(link.Broadcast);
        Send(udp, "ddp", Ddp.Ps4Search, new IPEndPoint(broadcast, Ddp.Ps4Port));
        Send(udp, "ddp", Ddp.Ps5Search, new IPEndPoint(broadcast, Ddp.Ps5Port));
    }

    private void Send(Socket udp, string what, byte[] payload, IPEndPoint to)
    {
        try
        {
            udp.SendTo(payload, to);
            Count(what, payload.Length + 28 + 14); // UDP, IPv4 and Ethernet headers
        }
        catch (SocketException e)
        {
            Problem ??= $"cannot send the {what} search to {to}: {e.Message}";
        }
    }

    /// <summary>A query for PTR _services._dns-sd._udp.local, asking for unicast answers (the QU bit).</summary>
    public static byte[] MdnsServiceQuery
    {
        get
        {
            var p = new List<byte> { 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
            foreach (var label in "_services._dns-sd._udp.local".Split('.'))
            {
                p.Add((byte)label.Length);
                p.AddRange(Encoding.ASCII.GetBytes(label));
            }
            p.AddRange([0, 0, 12, 0x80, 1]);
            return [.. p];
        }
    }

    /// <summary>
    /// Sweeps the subnet with ARP who-has at <see cref="Bandwidth"/>, twice (the second pass only to addresses
    /// <paramref name="answered"/> does not know), through libpcap on the interface. Refused, with a reason, for a
    /// subnet larger than /<paramref name="widest"/>.
    /// </summary>
    public async Task SweepAsync(Func<uint, bool> answered, int widest, CancellationToken cancel)
    {
        if (link.Prefix < widest)
        {
            Problem = $"{link.Interface}'s subnet is a /{link.Prefix} ({(1L << (32 - link.Prefix)) - 2:N0} addresses), wider than /{widest}: not swept (--sweep-prefix {link.Prefix} allows it)";
            return;
        }
        var (first, last) = link.Hosts;
        if (first > last) return;
        ILiveDevice? device = null;
        try
        {
            device = LibPcapLiveDeviceList.New().FirstOrDefault(d => d.Name == link.Interface);
            if (device is null)
            {
                Problem = $"no capture device for {link.Interface}: not swept";
                return;
            }
            device.Open(new DeviceConfiguration { Mode = DeviceModes.None, Snaplen = 64, BufferSize = 64 * 1024 });
            var gap = TimeSpan.FromSeconds(ArpWireBytes * 8.0 / Bandwidth);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var sent = 0L;
            for (var pass = 0; pass < 2; pass++)
            {
                if (pass == 1) await Task.Delay(SecondTry, cancel).ConfigureAwait(false);
                for (var ip = first; ip <= last && ip != 0; ip++)
                {
                    if (ip == link.Address || pass == 1 && answered(ip)) continue;
                    cancel.ThrowIfCancellationRequested();
                    device.SendPacket(ArpRequest(link.Mac, link.Address, ip));
                    Count("arp", ArpWireBytes);
                    sent++;
                    // Paced against the clock, not by sleeping each gap (the timer's grain is a millisecond).
                    var due = gap * sent;
                    if (due - clock.Elapsed > TimeSpan.FromMilliseconds(5)) await Task.Delay(due - clock.Elapsed, cancel).ConfigureAwait(false);
                }
            }
        }
        catch (PcapException e)
        {
            Problem = SysNet.IsPermissionProblem(e.Message) ? SysNet.NoCapturePermission(link.Interface) : $"cannot sweep on {link.Interface}: {e.Message}";
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            Problem = CaptureException.NoLibpcap;
        }
        finally
        {
            device?.Dispose();
        }
    }

    /// <summary>A broadcast ARP who-has <paramref name="target"/> from <paramref name="mac"/>/<paramref name="ip"/>, padded to the 60-byte minimum.</summary>
    public static byte[] ArpRequest(ulong mac, uint ip, uint target)
    {
        var f = new byte[60];
        f.AsSpan(0, 6).Fill(0xFF);
        WriteMac(f.AsSpan(6), mac);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0806);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(14), 1);      // Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 0x0800); // IPv4
        f[18] = 6;
        f[19] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(20), 1);      // request
        WriteMac(f.AsSpan(22), mac);
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(28), ip);
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(38), target);
        return f;
    }

    private static void WriteMac(Span<byte> to, ulong mac)
    {
        BinaryPrimitives.WriteUInt16BigEndian(to, (ushort)(mac >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(to[2..], (uint)mac);
    }
}
