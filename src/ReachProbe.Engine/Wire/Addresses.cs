using System.Globalization;

namespace ReachProbe.Wire;

/// <summary>Formatting and parsing of the integer addresses used on the hot path.</summary>
public static class Addresses
{
    /// <summary>An IPv4 address in host order.</summary>
    public static uint ToUInt(System.Net.IPAddress ip) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(ip.GetAddressBytes());

    /// <summary>Dotted-quad text of an address in host order.</summary>
    public static string Ip(uint ip) => $"{ip >> 24}.{(ip >> 16) & 0xFF}.{(ip >> 8) & 0xFF}.{ip & 0xFF}";

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
}
