using System.Buffers.Binary;
using System.Globalization;
using System.Net;

namespace ReachProbe.Wire;

/// <summary>
/// What Linux says of its interfaces and routes, read in one place: <c>/sys/class/net</c> (carrier, MAC, ifindex) and
/// <c>/proc/net/route</c>. Each read is one small file; none throws — an interface that is gone or unreadable is null.
/// </summary>
public static class SysNet
{
    /// <summary>Where the kernel shows its interfaces.</summary>
    public const string ClassNet = "/sys/class/net";

    /// <summary>
    /// Carrier of an interface: true, false, or null when it cannot be read for lack of permission. An interface that
    /// is down (the kernel refuses to read its carrier: EINVAL) or gone reads as false.
    /// </summary>
    public static bool? Carrier(string iface, string sysfs = ClassNet)
    {
        try
        {
            return File.ReadAllText(Path.Combine(sysfs, iface, "carrier")).Trim() == "1";
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>An interface's own MAC, or null (gone, unreadable, or none: loopback).</summary>
    public static ulong? Mac(string iface, string sysfs = ClassNet) =>
        Read(iface, "address", sysfs) is { } text && Addresses.TryParseMac(text, out var mac) && mac != 0 ? mac : null;

    /// <summary>An interface's index, as text (it changes when the interface is deleted and made again), or null.</summary>
    public static string? IfIndex(string iface, string sysfs = ClassNet) => Read(iface, "ifindex", sysfs);

    private static string? Read(string iface, string file, string sysfs)
    {
        try
        {
            return File.ReadAllText(Path.Combine(sysfs, iface, file)).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The main routing table's default routes, in its order: each one's interface and gateway (null for a route straight onto a link).</summary>
    public static IReadOnlyList<(string Interface, IPAddress? Gateway)> DefaultRoutes(string routes = "/proc/net/route")
    {
        var found = new List<(string, IPAddress?)>();
        try
        {
            foreach (var line in File.ReadLines(routes).Skip(1))
            {
                var f = line.Split('\t', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 3 || f[1] != "00000000") continue;
                // The kernel writes the gateway in host byte order, as hex.
                if (!uint.TryParse(f[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var gw)) continue;
                var b = new byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(b, gw);
                found.Add((f[0], gw == 0 ? null : new IPAddress(b)));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return found;
    }

    /// <summary>True when libpcap's error says the capability to capture is missing.</summary>
    public static bool IsPermissionProblem(string pcapMessage) =>
        pcapMessage.Contains("permission", StringComparison.OrdinalIgnoreCase) || pcapMessage.Contains("not permitted", StringComparison.OrdinalIgnoreCase);

    /// <summary>What to say when capturing on an interface is not permitted.</summary>
    public static string NoCapturePermission(string iface) =>
        $"no permission to capture on {iface}: needs CAP_NET_RAW and CAP_NET_ADMIN (run as root, or 'setcap cap_net_raw,cap_net_admin+ep' on the program)";

    /// <summary>
    /// The capabilities capturing and probing need (CAP_NET_ADMIN for promiscuous capture, CAP_NET_RAW for the capture,
    /// ARP and raw ICMP) that this process does not have in its effective set, by name; empty when it has both. Read
    /// from <c>/proc/self/status</c> (<c>CapEff</c>); null when that cannot be read (not Linux).
    /// </summary>
    public static IReadOnlyList<string>? MissingCaptureCapabilities(string status = "/proc/self/status")
    {
        try
        {
            var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
            if (line is null || !ulong.TryParse(line[7..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var eff)) return null;
            var missing = new List<string>();
            if ((eff & (1UL << 13)) == 0) missing.Add("CAP_NET_RAW");
            if ((eff & (1UL << 12)) == 0) missing.Add("CAP_NET_ADMIN");
            return missing;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
