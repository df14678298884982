using System.Globalization;

namespace ReachProbe.Agent;

/// <summary>
/// The kernel's neighbour (ARP) table, shared by every network namespace: by default it holds 1,024 entries
/// (<c>net.ipv4.neigh.default.gc_thresh3</c>). Probing more on-link targets than that makes the kernel drop entries
/// it still needs, and echo requests then go unsent or unanswered — for any pinger (fping at 1,000 addresses beside
/// another 1,000 lost 43 % of its replies). The agent says so at start rather than report the loss as the targets'.
/// </summary>
public static class NeighbourTable
{
    /// <summary>Where the kernel's hard limit is read.</summary>
    public const string LimitPath = "/proc/sys/net/ipv4/neigh/default/gc_thresh3";

    /// <summary>The kernel's limit, or null when it cannot be read (not Linux, or a namespace that does not show it).</summary>
    public static int? ReadLimit(string path = LimitPath)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// A warning when <paramref name="targets"/> come near the <paramref name="limit"/> (over 80 % of it: the agent's
    /// own gateway and the LAN's other hosts need entries too); null when there is room or the limit is unknown.
    /// </summary>
    public static string? Warning(int targets, int? limit)
    {
        if (limit is not { } l || targets <= l * 0.8) return null;
        var suggested = 1 << (int)Math.Ceiling(Math.Log2(targets * 2.0));
        return string.Create(CultureInfo.InvariantCulture,
            $"{targets:N0} targets, but the kernel's neighbour table holds {l:N0} entries for every namespace (net.ipv4.neigh.default.gc_thresh3): "
            + $"beyond it probes fail for want of an ARP entry, not because a target is down. Raise it, e.g. "
            + $"sysctl -w net.ipv4.neigh.default.gc_thresh3={suggested} net.ipv4.neigh.default.gc_thresh2={suggested / 2}");
    }

    /// <summary>The kernel's IPv4 neighbour table, as the process's network namespace shows it.</summary>
    public const string TablePath = "/proc/net/arp";

    /// <summary>
    /// The MAC the kernel has for <paramref name="ip"/> (a complete entry, fresh or stale), or null: the address had a
    /// host behind it at some time, which is what tells a silent host from no host at all.
    /// </summary>
    public static string? MacOf(System.Net.IPAddress ip, string path = TablePath) =>
        Complete(path).Where(e => e.Ip == ip.ToString()).Select(e => e.Mac).FirstOrDefault();

    /// <summary>
    /// The address the kernel last saw <paramref name="mac"/> at (a complete entry), or null: where a target known by its
    /// MAC alone starts, before its MAC shows on the wire. Null too when the MAC has several addresses (which is its
    /// own is for the wire to say).
    /// </summary>
    public static System.Net.IPAddress? IpOf(string mac) => IpOf(mac, TablePath);

    /// <inheritdoc cref="IpOf(string)"/>
    public static System.Net.IPAddress? IpOf(string mac, string path)
    {
        var ips = Complete(path).Where(e => string.Equals(e.Mac, mac, StringComparison.OrdinalIgnoreCase)).Select(e => e.Ip).Distinct().ToList();
        return ips.Count == 1 && System.Net.IPAddress.TryParse(ips[0], out var ip) ? ip : null;
    }

    // The complete entries: IP address, HW type, Flags (0x2: complete), HW address, Mask, Device.
    private static IEnumerable<(string Ip, string Mac)> Complete(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            yield break;
        }
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 4) continue;
            if (!f[2].StartsWith("0x", StringComparison.Ordinal) || !int.TryParse(f[2].AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var flags) || (flags & 0x2) == 0) continue;
            if (f[3] == "00:00:00:00:00:00") continue;
            yield return (f[0], f[3]);
        }
    }
}
