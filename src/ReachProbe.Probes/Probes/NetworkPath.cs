using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace ReachProbe.Probes;

/// <summary>The local interface on the target's link: its name, address and MAC (what an ARP or NDP probe is sent from).</summary>
/// <param name="Interface">Interface name, e.g. "eth0".</param>
/// <param name="Address">Its address on the target's subnet (IPv6: on its prefix, or its link-local one for a link-local target).</param>
/// <param name="Mac">Its MAC.</param>
public sealed record NetworkPath(string Interface, IPAddress Address, PhysicalAddress Mac)
{
    /// <summary>
    /// Finds the up, non-loopback interface whose IPv4 subnet holds <paramref name="target"/> (or the named one). Returns null,
    /// with the reason, when the target is not on a directly attached subnet (ARP cannot reach it).
    /// </summary>
    public static NetworkPath? Find(IPAddress target, string? interfaceName, out string? problem)
    {
        if (target.AddressFamily == AddressFamily.InterNetworkV6) return FindV6(target, interfaceName, out problem);
        var t = Wire.Addresses.ToUInt(target);
        if (Candidates(interfaceName, out problem) is not { } all) return null;
        foreach (var nic in all)
        {
            foreach (var u in nic.GetIPProperties().UnicastAddresses)
            {
                if (u.Address.AddressFamily != AddressFamily.InterNetwork) continue;
                var a = Wire.Addresses.ToUInt(u.Address);
                var mask = u.PrefixLength == 0 ? 0u : uint.MaxValue << (32 - u.PrefixLength);
                if ((a & mask) != (t & mask)) continue;
                problem = null;
                return new NetworkPath(nic.Name, u.Address, nic.GetPhysicalAddress());
            }
        }
        problem = interfaceName is null
            ? $"{target} is on no directly attached subnet (ARP only reaches the local link)"
            : $"interface {interfaceName} does not exist or has no IPv4 address on {target}'s subnet";
        return null;
    }

    /// <summary>
    /// The interface on an IPv6 target's link: for a link-local target, the interface its zone names (or the named one)
    /// with its link-local address; else the one with an address on the target's prefix.
    /// </summary>
    private static NetworkPath? FindV6(IPAddress target, string? interfaceName, out string? problem)
    {
        var t = target.GetAddressBytes();
        if (Candidates(interfaceName, out problem) is not { } all) return null;
        foreach (var nic in all)
        {
            var properties = nic.GetIPProperties();
            if (target.IsIPv6LinkLocal && target.ScopeId != 0 && properties.GetIPv6Properties()?.Index != target.ScopeId) continue;
            foreach (var u in properties.UnicastAddresses)
            {
                if (u.Address.AddressFamily != AddressFamily.InterNetworkV6 || u.Address.IsIPv6LinkLocal != target.IsIPv6LinkLocal) continue;
                if (!target.IsIPv6LinkLocal && !SamePrefix(u.Address.GetAddressBytes(), t, u.PrefixLength)) continue;
                problem = null;
                return new NetworkPath(nic.Name, new IPAddress(u.Address.GetAddressBytes()), nic.GetPhysicalAddress());
            }
        }
        var bare = new IPAddress(t);
        problem = interfaceName is null
            ? $"{bare} is on no directly attached prefix (neighbour discovery only reaches the local link)"
            : target.IsIPv6LinkLocal
                ? $"interface {interfaceName} does not exist, is not {bare}'s (its zone names another) or has no link-local address"
                : $"interface {interfaceName} does not exist or has no IPv6 address on {bare}'s prefix";
        return null;
    }

    private static bool SamePrefix(byte[] a, byte[] b, int bits)
    {
        for (var i = 0; i < 16 && bits > 0; i++, bits -= 8)
        {
            var mask = bits >= 8 ? 0xFF : (byte)(0xFF << (8 - bits));
            if ((a[i] & mask) != (b[i] & mask)) return false;
        }
        return true;
    }

    /// <summary>The non-loopback interfaces (or the named one) a probe may leave by; null, with the problem, when they cannot be listed.</summary>
    private static IEnumerable<NetworkInterface>? Candidates(string? interfaceName, out string? problem)
    {
        problem = null;
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => (interfaceName is null || n.Name == interfaceName) && n.NetworkInterfaceType != NetworkInterfaceType.Loopback).ToList();
        }
        catch (NetworkInformationException e)
        {
            problem = $"cannot list interfaces: {e.Message}";
            return null;
        }
    }
}
