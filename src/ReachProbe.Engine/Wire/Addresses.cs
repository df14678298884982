using System.Globalization;

namespace ReachProbe.Wire;

/// <summary>Formatting and parsing of the integer addresses used on the hot path.</summary>
public static class Addresses
{
    /// <summary>An IPv4 address in host order.</summary>
    public static uint ToUInt(System.Net.IPAddress ip) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(ip.GetAddressBytes());

    /// <summary>Dotted-quad text of an address in host order.</summary>
    public static string Ip(uint ip) => $"{ip >> 24}.{(ip >> 16) & 0xFF}.{(ip >> 8) & 0xFF}.{ip & 0xFF}";

    /// <summary>
    /// Text of an address as the wire path keeps it (see <see cref="DecodedFrame"/>): dotted quad for IPv4, RFC 5952
    /// text for IPv6.
    /// </summary>
    public static string Ip(UInt128 ip) => IsV4(ip) ? Ip((uint)ip) : ToIPAddress(ip).ToString();

    /// <summary>True when the wire path's address is an IPv4 one (its 32 low bits only).</summary>
    public static bool IsV4(UInt128 ip) => ip >> 32 == 0;

    /// <summary>Reads a 16-byte IPv6 address; ::/96 (unspecified, loopback, IPv4-compatible) reads as :: so it never looks like IPv4.</summary>
    public static UInt128 ReadIPv6(ReadOnlySpan<byte> b)
    {
        var a = System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(b);
        return a >> 32 == 0 ? UInt128.Zero : a;
    }

    /// <summary>"ipv4" or "ipv6", as metrics and reports name an address's family.</summary>
    public static string Family(UInt128 ip) => IsV4(ip) ? "ipv4" : "ipv6";

    /// <summary>An address (either family; an IPv4-mapped IPv6 address reads as IPv4) as the wire path keeps it.</summary>
    public static UInt128 ToKey(System.Net.IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) return ToUInt(ip);
        var key = System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(ip.GetAddressBytes());
        return key >> 32 == 0 ? UInt128.Zero : key;
    }

    /// <summary>The wire path's address as an <see cref="System.Net.IPAddress"/> (no zone).</summary>
    public static System.Net.IPAddress ToIPAddress(UInt128 ip)
    {
        if (IsV4(ip)) return ToIPAddress((uint)ip);
        var bytes = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, ip);
        return new System.Net.IPAddress(bytes);
    }

    /// <summary>Colon-separated lower-case hex of a MAC address.</summary>
    public static string Mac(ulong mac) => string.Join(':', Enumerable.Range(0, 6).Select(i => ((mac >> (40 - 8 * i)) & 0xFF).ToString("x2", CultureInfo.InvariantCulture)));

    /// <summary>Parses a dotted-quad IPv4 address (exactly four decimal parts 0–255).</summary>
    public static bool TryParseIp(string text, out uint ip)
    {
        ip = 0;
        var parts = text.Split('.');
        if (parts.Length != 4) return false;
        foreach (var part in parts)
        {
            if (part.Length is 0 or > 3 || !byte.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var b)) return false;
            ip = (ip << 8) | b;
        }
        return true;
    }

    /// <summary>Parses a MAC written as six hex pairs separated by ':' or '-'.</summary>
    public static bool TryParseMac(string text, out ulong mac)
    {
        mac = 0;
        var parts = text.Split(':', '-');
        if (parts.Length != 6) return false;
        foreach (var part in parts)
        {
            if (part.Length != 2 || !byte.TryParse(part, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b)) return false;
            mac = (mac << 8) | b;
        }
        return true;
    }

    /// <summary>
    /// Parses a host's IPv4 address as a person writes it, in the command line or the configuration: four decimal parts
    /// without leading zeros (inet_aton would read 010 as octal 8), and a unicast host address. On failure,
    /// <paramref name="problem"/> completes "'TEXT' …".
    /// </summary>
    public static bool TryParseHostIp(string text, out uint ip, out string problem)
    {
        problem = "";
        if (!TryParseIp(text, out ip))
        {
            problem = "is not an IPv4 address (four decimal numbers 0–255, such as 198.18.0.27)";
            return false;
        }
        if (text.Split('.').Any(p => p.Length > 1 && p[0] == '0'))
        {
            problem = $"has a leading zero: write {Ip(ip)} (some tools read 010 as octal 8)";
            return false;
        }
        if (!WirePipeline.IsUnicast(ip))
        {
            problem = "is not a unicast host address";
            return false;
        }
        return true;
    }

    /// <summary>
    /// Parses a host's address of either family as a person writes it: IPv4 as <see cref="TryParseHostIp"/> takes it, or
    /// IPv6 (RFC 4291 text, with a zone after '%' for a link-local one: fe80::1%br0). An IPv6 address must be one a host
    /// can have: not multicast, unspecified, loopback, IPv4-mapped (write the IPv4 address) or in ::/96. The zone is
    /// returned as written (null when none; the caller checks that it names an interface); only a link-local address
    /// takes one. On failure, <paramref name="problem"/> completes "'TEXT' …".
    /// </summary>
    public static bool TryParseHostAddress(string text, out UInt128 ip, out string? zone, out string problem)
    {
        ip = 0;
        zone = null;
        if (!text.Contains(':', StringComparison.Ordinal))
        {
            var ok = TryParseHostIp(text, out var v4, out problem);
            if (!ok && !text.Contains('.', StringComparison.Ordinal)) problem = "is not an IP address (IPv4 such as 198.18.0.27, or IPv6 such as 2001:db8::27)";
            ip = v4;
            return ok;
        }
        var percent = text.IndexOf('%', StringComparison.Ordinal);
        var bare = percent < 0 ? text : text[..percent];
        if (percent >= 0)
        {
            zone = text[(percent + 1)..];
            if (zone.Length == 0) { problem = "has an empty zone after '%' (fe80::1%br0)"; return false; }
        }
        if (bare.Contains('%', StringComparison.Ordinal) || bare.Contains('[', StringComparison.Ordinal) || !System.Net.IPAddress.TryParse(bare, out var address)
            || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            problem = "is not an IPv6 address (such as 2001:db8::27, or fe80::27%br0)";
            return false;
        }
        if (address.IsIPv4MappedToIPv6)
        {
            problem = $"is an IPv4-mapped address: write {address.MapToIPv4()}";
            return false;
        }
        var key = System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(address.GetAddressBytes());
        if (key >> 32 == 0 || key >> 120 == 0xFF)
        {
            problem = key >> 120 == 0xFF ? "is a multicast address, not a host's" : "is not a unicast host address (unspecified, loopback or IPv4-compatible)";
            return false;
        }
        if (zone is not null && !address.IsIPv6LinkLocal)
        {
            problem = $"has a zone (%{zone}), which only a link-local address (fe80::/10) takes";
            return false;
        }
        ip = key;
        problem = "";
        return true;
    }

    /// <summary>
    /// A host name as DNS takes it (RFC 1123): dot-separated labels of letters, digits and hyphens (not at a label's
    /// ends), 1–63 characters each, at most 253 in all, with a letter somewhere (so that a mistyped IPv4 address is not
    /// taken for a name); a final dot is allowed. On failure, <paramref name="problem"/> completes "'TEXT' …".
    /// </summary>
    public static bool TryParseHostName(string text, out string problem)
    {
        problem = "is not a host name (letters, digits, hyphens and dots, such as ps5.lan)";
        var name = text.EndsWith('.') ? text[..^1] : text;
        if (name.Length is 0 or > 253 || !name.Any(char.IsAsciiLetter)) return false;
        foreach (var label in name.Split('.'))
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-' || !label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')) return false;
        problem = "";
        return true;
    }

    /// <summary>
    /// Parses a host's MAC address: six hex pairs, and one a network card can have (not zero, broadcast or multicast).
    /// On failure, <paramref name="problem"/> completes "'TEXT' …".
    /// </summary>
    public static bool TryParseHostMac(string text, out ulong mac, out string problem)
    {
        problem = "";
        if (!TryParseMac(text, out mac))
        {
            problem = "is not a MAC address (aa:bb:cc:dd:ee:ff)";
            return false;
        }
        if (mac == 0 || mac == 0xFFFF_FFFF_FFFF || (mac & 0x0100_0000_0000) != 0)
        {
            problem = "cannot be a host's MAC address (zero, broadcast or multicast)";
            return false;
        }
        return true;
    }

    /// <summary>An address in host order as an <see cref="System.Net.IPAddress"/>.</summary>
    public static System.Net.IPAddress ToIPAddress(uint ip) => new([(byte)(ip >> 24), (byte)(ip >> 16), (byte)(ip >> 8), (byte)ip]);

    /// <summary>A MAC as a <see cref="System.Net.NetworkInformation.PhysicalAddress"/>.</summary>
    public static System.Net.NetworkInformation.PhysicalAddress ToPhysicalAddress(ulong mac) =>
        new([(byte)(mac >> 40), (byte)(mac >> 32), (byte)(mac >> 24), (byte)(mac >> 16), (byte)(mac >> 8), (byte)mac]);
}
