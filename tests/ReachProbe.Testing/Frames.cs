using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;
using PacketDotNet.Utils;

namespace ReachProbe.Testing;

/// <summary>A host on a generated LAN.</summary>
public sealed record LanHost(string Ip, string Mac)
{
    /// <summary>Parsed address.</summary>
    public IPAddress Address { get; } = IPAddress.Parse(Ip);
    /// <summary>Parsed MAC.</summary>
    public PhysicalAddress Hardware { get; } = PhysicalAddress.Parse(Mac.Replace(':', '-').ToUpperInvariant());
}

/// <summary>
/// Builds Ethernet frames with PacketDotNet, the way a test states what is on the wire. Each frame takes the family of
/// its hosts' addresses: between IPv6 hosts an echo is ICMPv6, and ARP is its twin, neighbour discovery (RFC 4861).
/// </summary>
public static class Frames
{
    private static readonly PhysicalAddress Broadcast = PhysicalAddress.Parse("FF-FF-FF-FF-FF-FF");
    private static readonly PhysicalAddress Zero = PhysicalAddress.Parse("00-00-00-00-00-00");

    /// <summary>ICMP echo request.</summary>
    public static byte[] EchoRequest(LanHost from, LanHost to, ushort id, ushort seq) => Icmp(from, to, IcmpV4TypeCode.EchoRequest, id, seq);

    /// <summary>ICMP echo reply.</summary>
    public static byte[] EchoReply(LanHost from, LanHost to, ushort id, ushort seq) => Icmp(from, to, IcmpV4TypeCode.EchoReply, id, seq);

    /// <summary>
    /// ICMP destination unreachable (administratively prohibited by default: a firewall's reject) from
    /// <paramref name="from"/> about <paramref name="to"/>'s echo request (id, seq) to it, quoted as RFC 792 says.
    /// </summary>
    public static byte[] EchoRefused(LanHost from, LanHost to, ushort id, ushort seq, byte code = 13)
    {
        var request = ((EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, EchoRequest(to, from, id, seq))).PayloadPacket.Bytes;
        var payload = new byte[8 + 28];
        payload[0] = 3;
        payload[1] = code;
        Array.Copy(request, 0, payload, 8, 28);
        var icmp = new IcmpV4Packet(new ByteArraySegment(payload));
        var ip = new IPv4Packet(from.Address, to.Address) { PayloadPacket = icmp, TimeToLive = 64 };
        icmp.UpdateIcmpChecksum();
        ip.UpdateIPChecksum();
        return new EthernetPacket(from.Hardware, to.Hardware, EthernetType.IPv4) { PayloadPacket = ip }.Bytes;
    }

    private static byte[] Icmp(LanHost from, LanHost to, IcmpV4TypeCode type, ushort id, ushort seq)
    {
        if (IsV6(from))
        {
            var echo = new byte[8 + 32];
            echo[0] = type == IcmpV4TypeCode.EchoRequest ? (byte)128 : (byte)129;
            echo[4] = (byte)(id >> 8); echo[5] = (byte)id; echo[6] = (byte)(seq >> 8); echo[7] = (byte)seq;
            return IcmpV6(from.Hardware, to.Hardware, from.Address, to.Address, echo);
        }
        var payload = new byte[8 + 32];
        var icmp = new IcmpV4Packet(new ByteArraySegment(payload)) { TypeCode = type, Id = id, Sequence = seq };
        var ip = new IPv4Packet(from.Address, to.Address) { PayloadPacket = icmp, TimeToLive = 64 };
        icmp.UpdateIcmpChecksum();
        ip.UpdateIPChecksum();
        return new EthernetPacket(from.Hardware, to.Hardware, EthernetType.IPv4) { PayloadPacket = ip }.Bytes;
    }

    /// <summary>ARP who-has <paramref name="target"/> from <paramref name="from"/>; broadcast, or unicast to <paramref name="unicastTo"/>'s MAC.</summary>
    public static byte[] ArpRequest(LanHost from, string target, LanHost? unicastTo = null)
    {
        if (IsV6(from)) return NeighbourSolicitation(from, IPAddress.Parse(target), unicastTo);
        var arp = new ArpPacket(ArpOperation.Request, Zero, IPAddress.Parse(target), from.Hardware, from.Address);
        return new EthernetPacket(from.Hardware, unicastTo?.Hardware ?? Broadcast, EthernetType.Arp) { PayloadPacket = arp }.Bytes;
    }

    /// <summary>ARP reply from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static byte[] ArpReply(LanHost from, LanHost to)
    {
        if (IsV6(from)) return NeighbourAdvertisement(from, to.Hardware, to.Address, solicited: true);
        var arp = new ArpPacket(ArpOperation.Response, to.Hardware, to.Address, from.Hardware, from.Address);
        return new EthernetPacket(from.Hardware, to.Hardware, EthernetType.Arp) { PayloadPacket = arp }.Bytes;
    }

    /// <summary>Gratuitous ARP (a broadcast request for its own address).</summary>
    public static byte[] GratuitousArp(LanHost from)
    {
        if (IsV6(from)) return NeighbourAdvertisement(from, AllNodesMac, AllNodes, solicited: false);
        var arp = new ArpPacket(ArpOperation.Request, Zero, from.Address, from.Hardware, from.Address);
        return new EthernetPacket(from.Hardware, Broadcast, EthernetType.Arp) { PayloadPacket = arp }.Bytes;
    }

    /// <summary>DNS query over UDP from <paramref name="client"/>:<paramref name="port"/> to the server's port 53.</summary>
    public static byte[] DnsQuery(LanHost client, LanHost server, ushort port, ushort id, string name, ushort type = 1) =>
        Udp(client, server, port, 53, DnsMessage(id, name, type, response: false));

    /// <summary>DNS response (one A record) from port 53 back to the client.</summary>
    public static byte[] DnsResponse(LanHost server, LanHost client, ushort port, ushort id, string name, ushort type = 1) =>
        Udp(server, client, 53, port, DnsMessage(id, name, type, response: true));

    /// <summary>A DNS message with one question and, for a response, one A answer pointing back at the question.</summary>
    public static byte[] DnsMessage(ushort id, string name, ushort type, bool response)
    {
        var m = new List<byte> { (byte)(id >> 8), (byte)id, (byte)(response ? 0x81 : 0x01), (byte)(response ? 0x80 : 0x00), 0, 1, 0, (byte)(response ? 1 : 0), 0, 0, 0, 0 };
        foreach (var label in name.Split('.'))
        {
            m.Add((byte)label.Length);
            m.AddRange(System.Text.Encoding.ASCII.GetBytes(label));
        }
        m.AddRange([0, (byte)(type >> 8), (byte)type, 0, 1]);
        if (response) m.AddRange([0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 0, 10]);
        return [.. m];
    }

    /// <summary>
    /// A DHCP message (RFC 2131) for the client <paramref name="mac"/>: op 1 (request) or 2 (reply), message type
    /// (option 53: 1 discover, 3 request, 5 ack), and optionally its host name (12), vendor class (60), the address it
    /// requests (50) or is given (yiaddr). The broadcast flag is set.
    /// </summary>
    public static byte[] Dhcp(byte op, string mac, byte type, string? hostName = null, string? vendorClass = null, string? requested = null, string? yiaddr = null)
    {
        var p = new byte[236];
        p[0] = op;
        p[1] = 1;
        p[2] = 6;
        p[4] = 0x5e;
        p[10] = 0x80;
        if (yiaddr is not null) IPAddress.Parse(yiaddr).GetAddressBytes().CopyTo(p, 16);
        Convert.FromHexString(mac.Replace(":", "")).CopyTo(p, 28);
        var o = new List<byte>(p) { 99, 130, 83, 99, 53, 1, type };
        void Option(byte code, byte[] value)
        {
            var v = value.Length > 255 ? value[..255] : value;
            o.Add(code);
            o.Add((byte)v.Length);
            o.AddRange(v);
        }
        if (hostName is not null) Option(12, System.Text.Encoding.UTF8.GetBytes(hostName));
        if (vendorClass is not null) Option(60, System.Text.Encoding.UTF8.GetBytes(vendorClass));
        if (requested is not null) Option(50, IPAddress.Parse(requested).GetAddressBytes());
        o.Add(255);
        return [.. o];
    }

    /// <summary>UDP datagram.</summary>
    public static byte[] Udp(LanHost from, LanHost to, ushort sport, ushort dport, byte[] payload)
    {
        var udp = new UdpPacket(sport, dport) { PayloadData = payload };
        if (IsV6(from))
        {
            var ip6 = new IPv6Packet(from.Address, to.Address) { PayloadPacket = udp, HopLimit = 64 };
            udp.UpdateUdpChecksum();
            return new EthernetPacket(from.Hardware, to.Hardware, EthernetType.IPv6) { PayloadPacket = ip6 }.Bytes;
        }
        var ip = new IPv4Packet(from.Address, to.Address) { PayloadPacket = udp, TimeToLive = 64 };
        udp.UpdateUdpChecksum();
        ip.UpdateIPChecksum();
        return new EthernetPacket(from.Hardware, to.Hardware, EthernetType.IPv4) { PayloadPacket = ip }.Bytes;
    }

    /// <summary>TCP segment with the given flags (SYN 0x02, ACK 0x10, RST 0x04, PSH 0x08).</summary>
    public static byte[] Tcp(LanHost from, LanHost to, ushort sport, ushort dport, uint seq, uint ack, byte flags, int payloadLength = 0)
    {
        var tcp = new TcpPacket(sport, dport)
        {
            SequenceNumber = seq,
            AcknowledgmentNumber = ack,
            Flags = flags,
            WindowSize = 64240,
            PayloadData = new byte[payloadLength],
        };
        if (IsV6(from))
        {
            var ip6 = new IPv6Packet(from.Address, to.Address) { PayloadPacket = tcp, HopLimit = 64 };
            tcp.UpdateTcpChecksum();
            return new EthernetPacket(from.Hardware, to.Hardware, EthernetType.IPv6) { PayloadPacket = ip6 }.Bytes;
        }
        var ip = new IPv4Packet(from.Address, to.Address) { PayloadPacket = tcp, TimeToLive = 64 };
        tcp.UpdateTcpChecksum();
        ip.UpdateIPChecksum();
        return new EthernetPacket(from.Hardware, to.Hardware, EthernetType.IPv4) { PayloadPacket = ip }.Bytes;
    }

    private static bool IsV6(LanHost host) => host.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;

    /// <summary>ff02::1, all nodes on the link.</summary>
    public static readonly IPAddress AllNodes = IPAddress.Parse("ff02::1");
    private static readonly PhysicalAddress AllNodesMac = PhysicalAddress.Parse("33-33-00-00-00-01");

    /// <summary>The solicited-node multicast group of <paramref name="address"/> (ff02::1:ffXX:XXXX) and its MAC (33:33:ff:XX:XX:XX).</summary>
    public static (IPAddress Group, PhysicalAddress Mac) SolicitedNode(IPAddress address)
    {
        var a = address.GetAddressBytes();
        var group = IPAddress.Parse("ff02::1:ff00:0").GetAddressBytes();
        group[13] = a[13]; group[14] = a[14]; group[15] = a[15];
        return (new IPAddress(group), new PhysicalAddress([0x33, 0x33, 0xFF, a[13], a[14], a[15]]));
    }

    /// <summary>
    /// Neighbour solicitation (ARP who-has's twin) from <paramref name="from"/> for <paramref name="target"/>: to its
    /// solicited-node group, or unicast to <paramref name="unicastTo"/>; with the source link-layer address option
    /// (none from :: — duplicate address detection, when <paramref name="dad"/>).
    /// </summary>
    public static byte[] NeighbourSolicitation(LanHost from, IPAddress target, LanHost? unicastTo = null, bool dad = false)
    {
        var (group, groupMac) = SolicitedNode(target);
        var body = new byte[dad ? 24 : 32];
        body[0] = 135;
        target.GetAddressBytes().CopyTo(body, 8);
        if (!dad)
        {
            body[24] = 1; body[25] = 1;
            from.Hardware.GetAddressBytes().CopyTo(body, 26);
        }
        return IcmpV6(from.Hardware, unicastTo?.Hardware ?? groupMac, dad ? IPAddress.IPv6Any : from.Address, unicastTo?.Address ?? group, body, hopLimit: 255);
    }

    /// <summary>Neighbour advertisement (ARP reply's twin) of <paramref name="from"/>'s address, with its target link-layer address option.</summary>
    public static byte[] NeighbourAdvertisement(LanHost from, PhysicalAddress toMac, IPAddress to, bool solicited, LanHost? claiming = null)
    {
        var body = new byte[32];
        body[0] = 136;
        body[4] = (byte)((solicited ? 0x40 : 0) | 0x20);
        (claiming ?? from).Address.GetAddressBytes().CopyTo(body, 8);
        body[24] = 2; body[25] = 1;
        from.Hardware.GetAddressBytes().CopyTo(body, 26);
        return IcmpV6(from.Hardware, toMac, from.Address, to, body, hopLimit: 255);
    }

    /// <summary>An Ethernet/IPv6 frame carrying the ICMPv6 message <paramref name="icmp"/>, its checksum filled in (RFC 4443 §2.3).</summary>
    public static byte[] IcmpV6(PhysicalAddress fromMac, PhysicalAddress toMac, IPAddress src, IPAddress dst, byte[] icmp, byte hopLimit = 64)
    {
        var frame = new byte[14 + 40 + icmp.Length];
        toMac.GetAddressBytes().CopyTo(frame, 0);
        fromMac.GetAddressBytes().CopyTo(frame, 6);
        frame[12] = 0x86; frame[13] = 0xDD;
        frame[14] = 0x60;
        frame[18] = (byte)(icmp.Length >> 8); frame[19] = (byte)icmp.Length;
        frame[20] = 58;
        frame[21] = hopLimit;
        src.GetAddressBytes().CopyTo(frame, 22);
        dst.GetAddressBytes().CopyTo(frame, 38);
        icmp.CopyTo(frame, 54);
        frame[56] = frame[57] = 0;
        uint sum = (uint)icmp.Length + 58;
        for (var i = 22; i < 54; i += 2) sum += (uint)(frame[i] << 8 | frame[i + 1]);
        for (var i = 54; i < frame.Length; i += 2) sum += (uint)(frame[i] << 8 | (i + 1 < frame.Length ? frame[i + 1] : 0));
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        var check = (ushort)~sum;
        frame[56] = (byte)(check >> 8); frame[57] = (byte)check;
        return frame;
    }
}
