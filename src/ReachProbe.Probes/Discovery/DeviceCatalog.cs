using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using ReachProbe.Probes;
using ReachProbe.Wire;

namespace ReachProbe.Discovery;

/// <summary>How a device was learned: the protocol that showed it.</summary>
public static class Learned
{
    /// <summary>An ARP it sent (its address).</summary>
    public const string Arp = "arp";
    /// <summary>Its IPv6 neighbour discovery (advertisements, solicitations, duplicate address detection), or its answer to an IPv6 echo.</summary>
    public const string Ndp = "ndp";
    /// <summary>Its DHCP request (host name, vendor class) or the server's acknowledgement (its address).</summary>
    public const string Dhcp = "dhcp";
    /// <summary>Its multicast DNS announcements or answers (names, services).</summary>
    public const string Mdns = "mdns";
    /// <summary>Its SSDP NOTIFY or search answer (server, device type).</summary>
    public const string Ssdp = "ssdp";
    /// <summary>Its answer to a PlayStation discovery (DDP) search (model, name, firmware, standby).</summary>
    public const string Ddp = "ddp";
    /// <summary>Its NetBIOS name registration (Windows, Samba, some TVs and printers).</summary>
    public const string NetBios = "netbios";
    /// <summary>Its LLMNR answer (its name, its address).</summary>
    public const string Llmnr = "llmnr";
    /// <summary>Its Xbox (SmartGlass) discovery answer on UDP 5050.</summary>
    public const string Xbox = "xbox";
}

/// <summary>One device on the segment, known by its MAC: what it said of itself, and how.</summary>
public sealed class Device(ulong mac, long firstSeen)
{
    /// <summary>Most names kept for a device: anyone on the LAN can announce any name.</summary>
    public const int MaxNames = 8;

    /// <summary>Its MAC.</summary>
    public ulong Mac { get; } = mac;

    /// <summary>Its IPv4 addresses seen (from ARP, DHCP, its own announcements).</summary>
    public SortedSet<uint> Addresses { get; } = [];

    /// <summary>Its IPv6 addresses, global or unique-local (never link-local), from its neighbour discovery: at most 8.</summary>
    public SortedSet<UInt128> Addresses6 { get; } = [];

    /// <summary>Names it gave (DHCP host name, mDNS host name, DDP host-name), cleaned, at most <see cref="MaxNames"/>.</summary>
    public List<string> Names { get; } = [];

    /// <summary>The organisation its MAC's OUI is registered to, or null (unknown, or a locally administered MAC).</summary>
    public string? Vendor { get; set; }

    /// <summary>A locally administered MAC: random (a phone's private address) or made up; no vendor can be told.</summary>
    public bool LocallyAdministered => (Mac & 0x0200_0000_0000) != 0;

    /// <summary>What it is, from what it said: playstation, xbox, nintendo, printer, tv, router, or unknown.</summary>
    public string Kind { get; set; } = "unknown";

    /// <summary>Its model (DDP host-type, or the SSDP server line), or null.</summary>
    public string? Model { get; set; }

    /// <summary>Its firmware (DDP system-version), or null.</summary>
    public string? Firmware { get; set; }

    /// <summary>In standby (a PlayStation answering DDP 620), awake (200), or null when not said.</summary>
    public bool? Standby { get; set; }

    /// <summary>DHCP vendor class (option 60), or null.</summary>
    public string? VendorClass { get; set; }

    /// <summary>Services it announced over mDNS (_googlecast._tcp …), at most <see cref="MaxNames"/>.</summary>
    public SortedSet<string> Services { get; } = new(StringComparer.Ordinal);

    /// <summary>How it was learned (<see cref="Learned"/>).</summary>
    public SortedSet<string> LearnedFrom { get; } = new(StringComparer.Ordinal);

    /// <summary>When it was first and last seen (UTC ticks).</summary>
    public long FirstSeen { get; } = firstSeen;

    /// <inheritdoc cref="FirstSeen"/>
    public long LastSeen { get; set; } = firstSeen;

    /// <summary>Adds a name, cleaned (<see cref="DeviceCatalog.Clean"/>), unless it has one like it or has <see cref="MaxNames"/>.</summary>
    public void AddName(string? raw)
    {
        if (DeviceCatalog.Clean(raw) is not { } name || Names.Count >= MaxNames || Names.Contains(name, StringComparer.OrdinalIgnoreCase)) return;
        Names.Add(name);
    }
}

/// <summary>
/// Learns the devices of a segment from what they say on it, passively: ARP (their addresses), DHCP requests (host
/// name, option 12; vendor class, option 60) and acknowledgements (the address given), mDNS announcements and answers
/// (host names, services), SSDP NOTIFY and search answers (server, device type), PlayStation DDP answers (model, name,
/// firmware, standby). Pure: frames in, devices out; the clock is the frames'. Everything a device says is input from
/// anyone on the LAN: names and fields are cleaned and capped, and at most <c>maxDevices</c> devices are kept (those past
/// it are counted, not stored).
/// </summary>
public sealed class DeviceCatalog(OuiRegistry? oui = null, uint gateway = 0, int maxDevices = DeviceCatalog.DefaultMaxDevices, ulong ownMac = 0)
{
    /// <summary>
    /// The capture filter for what the catalog reads: ARP, DHCP, mDNS, SSDP, NetBIOS, LLMNR, Xbox and PlayStation
    /// discovery answers — UDP whose payload starts "HTTP" (a console answers from any port) — and on a trunk the same,
    /// tagged (802.1Q): a fixed filter, cheap to compile twice.
    /// </summary>
    public const string CaptureFilter = Untagged + " or (vlan and (" + Untagged + "))";

    // ICMPv6 types 135 and 136: neighbour solicitations and advertisements (without extension headers, as NDP is sent).
    private const string Untagged = "arp or (icmp6 and (ip6[40] == 135 or ip6[40] == 136 or ip6[40] == 129)) or udp port 67 or udp port 68 or udp port 5353 or udp port 1900 or udp port 137 or udp port 5355 or udp src port 5050"
        + " or (udp and udp[8:4] = 0x48545450)";

    /// <summary>Devices kept unless told otherwise.</summary>
    public const int DefaultMaxDevices = 4096;

    /// <summary>Longest name or field kept (they reach labels and the terminal).</summary>
    public const int MaxField = 64;

    private readonly Dictionary<ulong, Device> _devices = [];
    private readonly HashSet<ulong> _refused = [];

    /// <summary>The devices, in the order first seen.</summary>
    public IReadOnlyCollection<Device> Devices => _devices.Values;

    private readonly HashSet<uint> _addresses = [];

    /// <summary>True when a device was seen with <paramref name="ip"/>.</summary>
    public bool HasAddress(uint ip) => _addresses.Contains(ip);

    /// <summary>Distinct MACs not kept because the catalog was full (counted up to 65,536).</summary>
    public int NotKept => _refused.Count;

    /// <summary>Looks at one frame.</summary>
    public void Observe(LinkKind link, ReadOnlySpan<byte> frame, long time)
    {
        if (!FrameDecoder.TryDecode(link, frame, time, out var f) || f.SrcMac == 0 || f.SrcMac == ownMac || (f.SrcMac & 0x0100_0000_0000) != 0) return;
        if (f.Kind == FrameKind.Arp)
        {
            // Its own ARP (sender MAC is the frame's source): the address is its own. A probe (sender 0.0.0.0) shows the device.
            if (f.ArpSenderMac != f.SrcMac || Get(f.SrcMac, time) is not { } d) return;
            d.LearnedFrom.Add(Learned.Arp);
            if (f.ArpSenderIp != 0 && WirePipeline.IsUnicast(f.ArpSenderIp)) AddAddress(d, (uint)f.ArpSenderIp);
            return;
        }
        if (f.Kind == FrameKind.Ndp)
        {
            // Its own NDP (the link-layer address it gives is its source): the address it advertises, solicits from, or
            // is about to take (DAD, from ::). Link-local addresses say nothing a person watches a device at.
            if (f.ArpSenderMac == f.SrcMac) LearnV6(f.SrcMac, f.ArpOp == 1 && f.ArpSenderIp == 0 ? f.ArpTargetIp : f.ArpSenderIp, time);
            return;
        }
        if (f.Kind == FrameKind.IPv6 && f.Transport == TransportKind.IcmpEcho && f.IcmpType == 0)
        {
            // An ICMPv6 echo reply (to discover --active's echo to all nodes): sent from its own address of that scope.
            LearnV6(f.SrcMac, f.IpSrc, time);
            return;
        }
        if (f.Kind != FrameKind.IPv4 || f.Transport != TransportKind.Udp || link != LinkKind.Ethernet) return;
        var payload = UdpPayload(frame);
        if (payload.IsEmpty) return;
        if (f.DstPort == 67 || f.SrcPort == 67) Dhcp(payload, time);
        else if (f.SrcPort == 5353 || f.DstPort == 5353) Mdns(f, payload, time, Learned.Mdns);
        else if (f.SrcPort == 5355) Mdns(f, payload, time, Learned.Llmnr); // LLMNR answers are DNS messages too
        else if (f.SrcPort == 137 && f.DstPort == 137) NetBios(f, payload, time);
        else if (f.SrcPort == 5050) XboxAnswer(f, time);
        else if (f.DstPort == 1900 || f.SrcPort == 1900) Ssdp(f, payload, time);
        // A console answers a DDP search from any port (an ephemeral one, often): it is told by what it says.
        else if (payload.StartsWith("HTTP/1.1 "u8)) DdpAnswer(f, payload, time);
    }

    private Device? Get(ulong mac, long time)
    {
        if (_devices.TryGetValue(mac, out var d))
        {
            if (time > d.LastSeen) d.LastSeen = time;
            return d;
        }
        if (_devices.Count >= maxDevices)
        {
            if (_refused.Count < 65_536) _refused.Add(mac);
            return null;
        }
        d = new Device(mac, time);
        if (d.LocallyAdministered) d.Vendor = null;
        else if (oui?.Organization(mac) is { } org) d.Vendor = org;
        if (d.Vendor?.Contains("Nintendo", StringComparison.OrdinalIgnoreCase) == true) d.Kind = "nintendo";
        _devices[mac] = d;
        return d;
    }

    /// <summary>The device at <paramref name="mac"/> has the IPv6 address <paramref name="ip"/> (kept when global or unique-local, at most 8).</summary>
    private void LearnV6(ulong mac, UInt128 ip, long time)
    {
        if (!WirePipeline.IsWatchableV6(ip) || Get(mac, time) is not { } d) return;
        d.LearnedFrom.Add(Learned.Ndp);
        if (d.Addresses6.Count < 8) d.Addresses6.Add(ip);
    }

    private void AddAddress(Device d, uint ip)
    {
        if (d.Addresses.Count < 16 && d.Addresses.Add(ip) && _addresses.Count < 65_536) _addresses.Add(ip);
        if (ip == gateway && gateway != 0 && d.Kind == "unknown") d.Kind = "router";
    }

    /// <summary>
    /// A name or field as it may be shown: control and format characters removed, whitespace folded, at most
    /// <see cref="MaxField"/> characters; null when nothing is left.
    /// </summary>
    public static string? Clean(string? raw)
    {
        if (raw is null) return null;
        var sb = new StringBuilder(Math.Min(raw.Length, MaxField));
        foreach (var c in raw)
        {
            if (sb.Length >= MaxField) break;
            var cat = char.GetUnicodeCategory(c);
            if (cat is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned) continue;
            if (char.IsWhiteSpace(c))
            {
                if (sb.Length > 0 && sb[^1] != ' ') sb.Append(' ');
                continue;
            }
            sb.Append(c);
        }
        var s = sb.ToString().Trim();
        return s.Length == 0 ? null : s;
    }

    /// <summary>The UDP payload of an Ethernet frame carrying IPv4/UDP (up to two VLAN tags), or empty.</summary>
    private static ReadOnlySpan<byte> UdpPayload(ReadOnlySpan<byte> frame)
    {
        var offset = 12;
        var type = BinaryPrimitives.ReadUInt16BigEndian(frame[offset..]);
        for (var tags = 0; tags < 2 && type is 0x8100 or 0x88A8 or 0x9100; tags++)
        {
            offset += 4;
            if (frame.Length < offset + 2) return default;
            type = BinaryPrimitives.ReadUInt16BigEndian(frame[offset..]);
        }
        offset += 2;
        if (type != 0x0800 || frame.Length < offset + 20) return default;
        var ihl = (frame[offset] & 0x0F) * 4;
        var udp = offset + ihl;
        if (frame.Length < udp + 8) return default;
        var length = BinaryPrimitives.ReadUInt16BigEndian(frame[(udp + 4)..]);
        var end = Math.Min(frame.Length, udp + Math.Max(8, (int)length));
        return frame[(udp + 8)..end];
    }

    // DHCP (RFC 2131): op, htype, hlen, hops, xid(4), secs(2), flags(2), ciaddr, yiaddr, siaddr, giaddr, chaddr(16),
    // sname(64), file(128), magic cookie (99.130.83.99), options.
    private void Dhcp(ReadOnlySpan<byte> p, long time)
    {
        if (p.Length < 240 || p[1] != 1 || p[2] != 6 || BinaryPrimitives.ReadUInt32BigEndian(p[236..]) != 0x63825363) return;
        var chaddr = ((ulong)BinaryPrimitives.ReadUInt16BigEndian(p[28..]) << 32) | BinaryPrimitives.ReadUInt32BigEndian(p[30..]);
        if (chaddr == 0 || (chaddr & 0x0100_0000_0000) != 0) return;
        string? hostName = null, vendorClass = null;
        byte messageType = 0;
        uint requested = 0;
        for (var i = 240; i < p.Length;)
        {
            var code = p[i];
            if (code == 255) break;
            if (code == 0)
            {
                i++;
                continue;
            }
            if (i + 1 >= p.Length || i + 2 + p[i + 1] > p.Length) break;
            var value = p.Slice(i + 2, p[i + 1]);
            switch (code)
            {
                case 12: hostName = Encoding.UTF8.GetString(value); break;
                case 60: vendorClass = Encoding.UTF8.GetString(value); break;
                case 53 when value.Length == 1: messageType = value[0]; break;
                case 50 when value.Length == 4: requested = BinaryPrimitives.ReadUInt32BigEndian(value); break;
            }
            i += 2 + value.Length;
        }
        if (Get(chaddr, time) is not { } d) return;
        d.LearnedFrom.Add(Learned.Dhcp);
        if (p[0] == 1)
        {
            d.AddName(hostName);
            if (Clean(vendorClass) is { } vc) d.VendorClass = vc;
            if (requested != 0 && WirePipeline.IsUnicast(requested) && messageType == 3) AddAddress(d, requested); // a request for the address it was offered
        }
        else if (p[0] == 2 && messageType == 5) // the server's ACK: the address is the device's now
        {
            var yiaddr = BinaryPrimitives.ReadUInt32BigEndian(p[16..]);
            if (yiaddr != 0 && WirePipeline.IsUnicast(yiaddr)) AddAddress(d, yiaddr);
        }
    }

    // mDNS (RFC 6762): a DNS message. The sender's answers name it (A records for its own address: its host name) and
    // its services (PTR records of _service._proto.local).
    private void Mdns(in DecodedFrame f, ReadOnlySpan<byte> p, long time, string learned)
    {
        if (p.Length < 12 || (p[2] & 0x80) == 0) return; // answers only: a query says nothing of the asker
        var questions = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
        var records = BinaryPrimitives.ReadUInt16BigEndian(p[6..]) + BinaryPrimitives.ReadUInt16BigEndian(p[8..]) + BinaryPrimitives.ReadUInt16BigEndian(p[10..]);
        var offset = 12;
        for (var q = 0; q < questions; q++)
        {
            if (!DnsWire.TrySkipName(p, ref offset) || offset + 4 > p.Length) return;
            offset += 4;
        }
        if (Get(f.SrcMac, time) is not { } d) return;
        d.LearnedFrom.Add(learned);
        for (var r = 0; r < records && r < 64; r++)
        {
            if (!DnsWire.TryReadName(p, ref offset, out var owner) || offset + 10 > p.Length) return;
            var type = BinaryPrimitives.ReadUInt16BigEndian(p[offset..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(p[(offset + 8)..]);
            var data = offset + 10;
            if (data + length > p.Length) return;
            if (type == 1 && length == 4)
            {
                var ip = BinaryPrimitives.ReadUInt32BigEndian(p[data..]);
                // Its own address, announced under its host name.
                if (ip == f.IpSrc && WirePipeline.IsUnicast(ip))
                {
                    AddAddress(d, ip);
                    d.AddName(Local(owner));
                }
            }
            else if (type == 12 && owner.StartsWith('_') && d.Services.Count < Device.MaxNames)
            {
                var service = Clean(owner.EndsWith(".local", StringComparison.OrdinalIgnoreCase) ? owner[..^6] : owner);
                if (service is not null && !service.StartsWith("_services.", StringComparison.Ordinal)) d.Services.Add(service.ToLowerInvariant());
            }
            offset = data + length;
        }
        Classify(d);
    }

    // NetBIOS name service (RFC 1002): a registration or refresh (opcode 5, 8 or 9) names its sender — 16 bytes, first
    // level encoded as 32 letters 'A'–'P': 15 of name, padded with spaces, and a suffix byte (0x00 a workstation, 0x20 a server).
    private void NetBios(in DecodedFrame f, ReadOnlySpan<byte> p, long time)
    {
        if (p.Length < 12 + 34 || (p[2] & 0x80) != 0 || ((p[2] >> 3) & 0x0F) is not (5 or 8 or 9) || p[12] != 32) return;
        var name = new StringBuilder(15);
        for (var i = 0; i < 16; i++)
        {
            int hi = p[13 + 2 * i] - 'A', lo = p[14 + 2 * i] - 'A';
            if (hi is < 0 or > 15 || lo is < 0 or > 15) return;
            var c = (char)((hi << 4) | lo);
            if (i < 15) name.Append(c);
            else if (c is not ('\0' or ' ')) return; // other suffixes name services and groups, not the host
        }
        if (Get(f.SrcMac, time) is not { } d) return;
        d.LearnedFrom.Add(Learned.NetBios);
        if (WirePipeline.IsUnicast(f.IpSrc)) AddAddress(d, (uint)f.IpSrc);
        d.AddName(name.ToString().TrimEnd());
    }

    // Xbox SmartGlass discovery: a console answers on UDP 5050.
    private void XboxAnswer(in DecodedFrame f, long time)
    {
        if (Get(f.SrcMac, time) is not { } d) return;
        d.LearnedFrom.Add(Learned.Xbox);
        if (WirePipeline.IsUnicast(f.IpSrc)) AddAddress(d, (uint)f.IpSrc);
        if (d.Kind is not ("playstation" or "nintendo")) d.Kind = "xbox";
    }

    private static string Local(string name) => name.EndsWith(".local", StringComparison.OrdinalIgnoreCase) ? name[..^6] : name;

    // SSDP (UPnP 1.1): NOTIFY * HTTP/1.1, or HTTP/1.1 200 OK answering an M-SEARCH; header lines.
    private void Ssdp(in DecodedFrame f, ReadOnlySpan<byte> p, long time)
    {
        var text = Encoding.ASCII.GetString(p[..Math.Min(p.Length, 2048)]);
        var lines = text.Split('\n');
        if (!lines[0].StartsWith("NOTIFY ", StringComparison.Ordinal) && !lines[0].StartsWith("HTTP/1.1 200", StringComparison.Ordinal)) return;
        string? server = null, type = null;
        foreach (var raw in lines.Skip(1))
        {
            var line = raw.TrimEnd('\r');
            var colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("SERVER", StringComparison.OrdinalIgnoreCase)) server = value;
            else if (name.Equals("NT", StringComparison.OrdinalIgnoreCase) || name.Equals("ST", StringComparison.OrdinalIgnoreCase)) type = value;
        }
        if (Get(f.SrcMac, time) is not { } d) return;
        d.LearnedFrom.Add(Learned.Ssdp);
        if (WirePipeline.IsUnicast(f.IpSrc)) AddAddress(d, (uint)f.IpSrc);
        if (d.Model is null && Clean(server) is { } s) d.Model = s;
        if (Clean(type) is { } t && d.Services.Count < Device.MaxNames) d.Services.Add(t);
        Classify(d);
    }

    private void DdpAnswer(in DecodedFrame f, ReadOnlySpan<byte> p, long time)
    {
        if (!Probes.Ddp.TryParse(p, out var info, out _) || info is null || info.HostType is null && info.HostId is null || Get(f.SrcMac, time) is not { } d) return;
        d.LearnedFrom.Add(Learned.Ddp);
        if (WirePipeline.IsUnicast(f.IpSrc)) AddAddress(d, (uint)f.IpSrc);
        d.Kind = "playstation";
        d.AddName(info.HostName);
        if (Clean(info.HostType) is { } model) d.Model = model;
        if (Clean(info.Firmware) is { } firmware) d.Firmware = firmware;
        d.Standby = info.Status switch { ConsoleStatus.Standby => true, ConsoleStatus.Awake => false, _ => d.Standby };
    }

    /// <summary>What the device is, from what it said; a kind it has from DDP or its OUI is kept.</summary>
    private static void Classify(Device d)
    {
        if (d.Kind is "playstation" or "nintendo") return;
        bool Says(string word) => d.Services.Any(s => s.Contains(word, StringComparison.OrdinalIgnoreCase))
            || d.Model?.Contains(word, StringComparison.OrdinalIgnoreCase) == true
            || d.Names.Any(n => n.Contains(word, StringComparison.OrdinalIgnoreCase));
        if (Says("xbox")) d.Kind = "xbox";
        else if (Says("_ipp.") || Says("_printer.") || Says("_pdl-datastream.") || Says("Printer:")) d.Kind = "printer";
        else if (Says("_googlecast.") || Says("_airplay.") || Says("MediaRenderer") || Says("dial-multiscreen")) d.Kind = "tv";
        else if (Says("InternetGatewayDevice") && d.Kind == "unknown") d.Kind = "router";
    }
}

/// <summary>DNS names on the wire (RFC 1035 §4.1.4): labels and compression pointers, bounded.</summary>
internal static class DnsWire
{
    /// <summary>Reads a name at <paramref name="offset"/>, moving it past the name; false for a malformed one.</summary>
    public static bool TryReadName(ReadOnlySpan<byte> p, ref int offset, out string name)
    {
        var sb = new StringBuilder();
        name = "";
        var at = offset;
        var jumped = false;
        for (var hops = 0; hops < 32; hops++)
        {
            if (at >= p.Length) return false;
            var len = p[at];
            if (len == 0)
            {
                if (!jumped) offset = at + 1;
                name = sb.ToString();
                return true;
            }
            if ((len & 0xC0) == 0xC0)
            {
                if (at + 1 >= p.Length) return false;
                if (!jumped) offset = at + 2;
                jumped = true;
                at = ((len & 0x3F) << 8) | p[at + 1];
                continue;
            }
            if ((len & 0xC0) != 0 || at + 1 + len > p.Length || sb.Length > 255) return false;
            if (sb.Length > 0) sb.Append('.');
            sb.Append(Encoding.UTF8.GetString(p.Slice(at + 1, len)));
            at += 1 + len;
        }
        return false;
    }

    /// <summary>Moves <paramref name="offset"/> past a name.</summary>
    public static bool TrySkipName(ReadOnlySpan<byte> p, ref int offset) => TryReadName(p, ref offset, out _);
}

/// <summary>
/// The IEEE's registry of MAC prefixes (OUI, MA-L) as Debian's <c>ieee-data</c> ships it
/// (<c>/usr/share/ieee-data/oui.csv</c>): the organisation a MAC's first three octets are registered to.
/// </summary>
public sealed class OuiRegistry
{
    /// <summary>Where Debian's ieee-data puts the registry.</summary>
    public const string DebianPath = "/usr/share/ieee-data/oui.csv";

    private readonly Dictionary<uint, string> _organizations;

    private OuiRegistry(Dictionary<uint, string> organizations) => _organizations = organizations;

    /// <summary>How many prefixes it holds.</summary>
    public int Count => _organizations.Count;

    /// <summary>The organisation <paramref name="mac"/>'s prefix is registered to, or null.</summary>
    public string? Organization(ulong mac) => _organizations.GetValueOrDefault((uint)(mac >> 24));

    /// <summary>Reads the registry (CSV: Registry,Assignment,Organization Name,Organization Address); null when the file is not there or not one.</summary>
    public static OuiRegistry? Load(string path = DebianPath)
    {
        try
        {
            if (!File.Exists(path)) return null;
            var map = new Dictionary<uint, string>();
            // One string per organisation: a vendor with hundreds of prefixes is kept once (a third of the registry's memory).
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var line in File.ReadLines(path).Skip(1))
            {
                var fields = Csv(line);
                if (fields.Count < 3 || fields[0] != "MA-L" || fields[1].Length != 6
                    || !uint.TryParse(fields[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var prefix)) continue;
                if (DeviceCatalog.Clean(fields[2]) is not { } org) continue;
                if (!names.TryGetValue(org, out var kept)) names[org] = kept = org;
                map[prefix] = kept;
            }
            return map.Count == 0 ? null : new OuiRegistry(map);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static List<string> Csv(string line)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else sb.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(c);
        }
        fields.Add(sb.ToString());
        return fields;
    }
}
