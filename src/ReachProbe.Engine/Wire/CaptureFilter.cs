using System.Net;
using System.Runtime.InteropServices;

namespace ReachProbe.Wire;

/// <summary>
/// The live capture's BPF filter, sized for the kernel. "arp or host A or host B …" lets only the targets' traffic and
/// all ARP reach ReachProbe; but its compiled program grows with the targets, and above the kernel's limit of 4,096
/// instructions libpcap quietly filters in user space — every frame of the segment then crosses into the process. So
/// the filter is compiled first: too long, it falls back to the targets' /24 subnets, then to "arp or ip", and the
/// pipeline's own address bitmap does the rest.
/// </summary>
public static partial class CaptureFilter
{
    /// <summary>The kernel's limit on a socket filter's instructions (BPF_MAXINSNS).</summary>
    public const int KernelLimit = 4096;

    /// <summary>
    /// Most terms ("host A", "net B") compiled: libpcap's optimiser grows much faster than the list (100 hosts: 30 ms;
    /// 700: 9 s, 3,960 instructions), and a list this long would be close to the kernel's limit anyway.
    /// </summary>
    public const int MaxTerms = 200;

    /// <summary>A filter and how it was chosen.</summary>
    /// <param name="Text">The filter expression.</param>
    /// <param name="Kind">"hosts", "subnets" or "all_ip".</param>
    /// <param name="Instructions">Its compiled length, or -1 when libpcap could not be asked.</param>
    public sealed record Choice(string Text, string Kind, int Instructions);

    /// <summary>
    /// The narrowest filter whose program the kernel takes, for these targets (with their MACs when known): by host up
    /// to <see cref="MaxTerms"/> terms, else by /24 subnet up to as many, else all IP. A target known by its MAC alone
    /// (its address followed: it moves) is let in by its MAC, wherever its address goes.
    /// </summary>
    public static Choice For(IEnumerable<(IPAddress? Ip, string? Mac)> targets)
    {
        var list = targets.ToList();
        // IPv6 targets bring neighbour discovery, ARP's twin: a solicitation for a target goes to its solicited-node
        // group, from the asker, and names the target only inside — "host A" never matches it. And IPv6 multicast: a
        // host's announcements to link-local groups (SSDP's ff02::c, mDNS's ff02::fb) leave from its link-local address,
        // not the one it is watched at — from a switch port they are all the monitor sees of it (its MAC tells it).
        var neighbours = list.Any(t => t.Ip?.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) ? $"arp or {Ndp} or {Ipv6Multicast}" : "arp";
        var terms = list.SelectMany(t => new[] { t.Ip is null ? null : $"host {Host(t.Ip)}", t.Mac is null ? null : $"ether host {t.Mac}" }.OfType<string>()).ToList();
        // Nothing known of any target yet (host names that have not resolved): ARP alone, until their addresses are.
        if (terms.Count == 0) return new Choice(WithVlan("arp"), "hosts", Instructions(WithVlan("arp")));
        if (terms.Count <= MaxTerms)
        {
            var hosts = WithVlan($"{neighbours} or " + string.Join(" or ", terms));
            var n = Instructions(hosts);
            if (n is >= 0 and <= KernelLimit || n == -1) return new Choice(hosts, "hosts", n);
        }
        var nets = list.Where(t => t.Ip is not null).Select(t => Subnet(t.Ip!)).Distinct()
            .Concat(list.Where(t => t.Ip is null && t.Mac is not null).Select(t => $"ether host {t.Mac}")).ToList();
        if (nets.Count <= MaxTerms)
        {
            var subnets = WithVlan($"{neighbours} or " + string.Join(" or ", nets));
            var n = Instructions(subnets);
            if (n is >= 0 and <= KernelLimit) return new Choice(subnets, "subnets", n);
        }
        var all = WithVlan(neighbours == "arp" ? "arp or ip" : "arp or ip or ip6");
        return new Choice(all, "all_ip", Instructions(all));
    }

    /// <summary>Neighbour solicitations and advertisements (ICMPv6 135 and 136, which never carry extension headers).</summary>
    public const string Ndp = "(icmp6 and (ip6[40] = 135 or ip6[40] = 136))";

    /// <summary>IPv6 to a multicast group (ff00::/8).</summary>
    public const string Ipv6Multicast = "(ip6 and ip6[24] = 0xff)";

    /// <summary>An address as libpcap takes it: without a link-local address's zone.</summary>
    private static string Host(IPAddress ip) => Addresses.Ip(Addresses.ToKey(ip));

    /// <summary>The /24 of an IPv4 address, the /64 of an IPv6 one (a LAN's prefix).</summary>
    private static string Subnet(IPAddress ip)
    {
        var b = ip.GetAddressBytes();
        if (b.Length == 4) return $"net {b[0]}.{b[1]}.{b[2]}.0/24";
        Array.Clear(b, 8, 8);
        return $"net {new IPAddress(b)}/64";
    }

    /// <summary>The compiled length of a filter for Ethernet, or -1 when it does not compile or libpcap cannot be loaded.</summary>
    public static int Instructions(string filter)
    {
        try
        {
            var program = new BpfProgram();
            if (pcap_compile_nopcap(65535, 1, ref program, filter, 1, 0xFFFFFFFF) != 0) return -1;
            var length = (int)program.Length;
            pcap_freecode(ref program);
            return length;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return -1;
        }
    }

    /// <summary>
    /// <paramref name="filter"/> for a trunk too: "F or vlan". libpcap's "arp" or "host A" never match an 802.1Q-tagged
    /// frame (whether the tag is in the frame or, stripped by the card, beside it); "vlan" does. Every tagged frame is let
    /// in, and the pipeline's own address bitmap does the rest (the decoder reads up to two tags): repeating F after
    /// "vlan and" would match only the targets' but made the compile 4× slower (200 terms: 846 ms against 220 ms here,
    /// seconds on a Pi, on the loop's thread). Where no tagged frame arrives — any port but a trunk — it costs nothing.
    /// </summary>
    public static string WithVlan(string filter) => $"{filter} or vlan";

    /// <summary>Whether <paramref name="filter"/> (compiled for Ethernet) lets <paramref name="frame"/> through; null when libpcap cannot say.</summary>
    public static unsafe bool? Matches(string filter, ReadOnlySpan<byte> frame)
    {
        try
        {
            var program = new BpfProgram();
            if (pcap_compile_nopcap(65535, 1, ref program, filter, 1, 0xFFFFFFFF) != 0) return null;
            try
            {
                var header = new PacketHeader { CapturedLength = (uint)frame.Length, Length = (uint)frame.Length };
                fixed (byte* data = frame) return pcap_offline_filter(ref program, ref header, data) != 0;
            }
            finally
            {
                pcap_freecode(ref program);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PacketHeader
    {
        public long Seconds;
        public long Microseconds;
        public uint CapturedLength;
        public uint Length;
    }

    [LibraryImport(PcapRecord.Library, EntryPoint = "pcap_offline_filter")]
    private static unsafe partial int pcap_offline_filter(ref BpfProgram program, ref PacketHeader header, byte* data);

    [StructLayout(LayoutKind.Sequential)]
    private struct BpfProgram
    {
        public uint Length;
        public IntPtr Instructions;
    }

    [LibraryImport(PcapRecord.Library, EntryPoint = "pcap_compile_nopcap", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int pcap_compile_nopcap(int snaplen, int linktype, ref BpfProgram program, string filter, int optimize, uint netmask);

    [LibraryImport(PcapRecord.Library, EntryPoint = "pcap_freecode")]
    private static partial void pcap_freecode(ref BpfProgram program);
}
