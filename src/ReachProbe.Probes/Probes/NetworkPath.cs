using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace ReachProbe.Probes;

/// <summary>The local interface on the target's link: its name, IPv4 address and MAC (what an ARP probe is sent from).</summary>
/// <param name="Interface">Interface name, e.g. "eth0".</param>
/// <param name="Address">Its IPv4 address on the target's subnet.</param>
/// <param name="Mac">Its MAC.</param>
public sealed record NetworkPath(string Interface, IPAddress Address, PhysicalAddress Mac)
{
    /// <summary>
    /// Finds the up, non-loopback interface whose IPv4 subnet holds <paramref name="target"/> (or the named one). Returns null,
    /// with the reason, when the target is not on a directly attached subnet (ARP cannot reach it).
    /// </summary>
    public static NetworkPath? Find(IPAddress target, string? interfaceName, out string? problem)
    {
        var t = Wire.Addresses.ToUInt(target);
        NetworkInterface[] all;
        try
        {
            all = NetworkInterface.GetAllNetworkInterfaces();
        }
        catch (NetworkInformationException e)
        {
            problem = $"cannot list interfaces: {e.Message}";
            return null;
        }
        foreach (var nic in all)
        {
            if (interfaceName is not null && nic.Name != interfaceName) continue;
            if (nic.NetworkInterfaceType == NetworkInterfaceType.Loopback) continue;
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
}
