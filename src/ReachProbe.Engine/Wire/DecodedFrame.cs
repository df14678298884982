namespace ReachProbe.Wire;

/// <summary>Link-layer framing of a capture, as LINKTYPE_ values (tcpdump.org/linktypes.html).</summary>
public enum LinkKind
{
    /// <summary>LINKTYPE_ETHERNET (1), with optional 802.1Q/802.1ad tags.</summary>
    Ethernet = 1,
    /// <summary>LINKTYPE_LINUX_SLL (113), Linux "cooked" capture v1.</summary>
    LinuxSll = 113,
    /// <summary>LINKTYPE_LINUX_SLL2 (276), Linux "cooked" capture v2.</summary>
    LinuxSll2 = 276,
}

/// <summary>What the decoder found at the network layer.</summary>
public enum FrameKind : byte
{
    /// <summary>Anything that is neither ARP, IPv4 nor IPv6 (LLDP, 802.3/LLC …).</summary>
    Other,
    /// <summary>Ethernet/IPv4 ARP.</summary>
    Arp,
    /// <summary>IPv4.</summary>
    IPv4,
    /// <summary>IPv6 other than neighbour discovery.</summary>
    IPv6,
    /// <summary>
    /// IPv6 neighbour discovery, ARP's twin (RFC 4861): a neighbour solicitation or advertisement, decoded into the ARP
    /// fields (<see cref="DecodedFrame.ArpOp"/> 1 for a solicitation, 2 for an advertisement) so that every ARP signature
    /// reads it the same way. The IPv6 fields keep the packet's own source and destination.
    /// </summary>
    Ndp,
}

/// <summary>Why a frame could not be decoded completely. The frame is still counted; malformed input is data, not an exception.</summary>
public enum DecodeIssue : byte
{
    /// <summary>Decoded as far as its protocols go.</summary>
    None,
    /// <summary>Shorter than its link-layer header.</summary>
    TruncatedLinkHeader,
    /// <summary>ARP shorter than its fixed 28 bytes.</summary>
    TruncatedArp,
    /// <summary>ARP for another hardware or protocol type or address size.</summary>
    UnsupportedArp,
    /// <summary>IPv4 header shorter than its IHL says, or IHL below 5.</summary>
    BadIpv4Header,
    /// <summary>ICMP, UDP or TCP header cut short.</summary>
    TruncatedTransport,
    /// <summary>DNS header or question malformed or cut short.</summary>
    BadDns,
    /// <summary>IPv6 header cut short, or an extension header chain that runs past the capture.</summary>
    BadIpv6Header,
    /// <summary>A neighbour solicitation or advertisement shorter than its fixed part, or with a malformed option.</summary>
    BadNdp,
}

/// <summary>Well-known transport payloads the trackers care about.</summary>
public enum TransportKind : byte
{
    /// <summary>Not decoded (other protocol, non-first fragment, or malformed).</summary>
    None,
    /// <summary>ICMP echo request or reply (<see cref="DecodedFrame.IcmpType"/> 8 or 0).</summary>
    IcmpEcho,
    /// <summary>Other ICMP.</summary>
    IcmpOther,
    /// <summary>UDP without a DNS payload on port 53.</summary>
    Udp,
    /// <summary>UDP port 53 carrying a DNS message with at least one question.</summary>
    Dns,
    /// <summary>TCP.</summary>
    Tcp,
}

/// <summary>
/// The fields of one frame that ReachProbe's trackers use, decoded without allocation.
/// MAC addresses are 48-bit values in the low bits of a <see cref="ulong"/>. IP addresses are <see cref="UInt128"/>
/// values in host order: an IPv6 address is its 128 bits (2001:db8::27 is 0x20010DB8_00000000_00000000_00000027), an
/// IPv4 address its 32 bits in the low word (192.168.1.27 is 0xC0A8011B) — so the trackers key both families alike.
/// The IPv6 addresses that would read as IPv4 (::/96: unspecified, loopback and the deprecated IPv4-compatible
/// addresses) never name a host, and the decoder reads them all as :: (see <see cref="Addresses"/>).
/// </summary>
public struct DecodedFrame
{
    /// <summary>The all-ones broadcast MAC address.</summary>
    public const ulong BroadcastMac = 0xFFFF_FFFF_FFFFUL;

    /// <summary>Capture time, UTC <see cref="DateTime.Ticks"/>.</summary>
    public long Time;
    /// <summary>Source MAC (0 when the link type does not carry it).</summary>
    public ulong SrcMac;
    /// <summary>Destination MAC (0 when unknown; <see cref="BroadcastMac"/> for broadcast).</summary>
    public ulong DstMac;
    /// <summary>Network-layer kind.</summary>
    public FrameKind Kind;
    /// <summary>Where decoding stopped early, if it did.</summary>
    public DecodeIssue Issue;
    /// <summary>The frame carries IPv6 (<see cref="FrameKind.IPv6"/> or <see cref="FrameKind.Ndp"/>).</summary>
    public readonly bool IsIPv6 => Kind is FrameKind.IPv6 or FrameKind.Ndp;

    /// <summary>ARP opcode (1 request, 2 reply).</summary>
    public ushort ArpOp;
    /// <summary>ARP sender hardware address.</summary>
    public ulong ArpSenderMac;
    /// <summary>ARP target hardware address.</summary>
    public ulong ArpTargetMac;
    /// <summary>
    /// ARP sender protocol address. Of a neighbour solicitation: the IPv6 source (:: for duplicate address detection,
    /// ARP's probe); of an advertisement: the address it advertises.
    /// </summary>
    public UInt128 ArpSenderIp;
    /// <summary>
    /// ARP target protocol address. Of a neighbour solicitation: the address asked for; of an advertisement: the IPv6
    /// destination, or the advertised address itself when unsolicited to a multicast group (ARP's announcement).
    /// </summary>
    public UInt128 ArpTargetIp;

    /// <summary>IP source (IPv4 or IPv6).</summary>
    public UInt128 IpSrc;
    /// <summary>IP destination (IPv4 or IPv6).</summary>
    public UInt128 IpDst;
    /// <summary>IPv4 protocol number, or IPv6 next header after the extension headers.</summary>
    public byte IpProtocol;
    /// <summary>Transport payload kind.</summary>
    public TransportKind Transport;

    /// <summary>
    /// ICMP type, in ICMPv4's numbers for both families: an ICMPv6 echo request (128) reads 8, its reply (129) 0 and a
    /// destination unreachable (1) 3, so that one set of signatures reads both; other ICMPv6 types are kept as they are.
    /// </summary>
    public byte IcmpType;
    /// <summary>ICMP code.</summary>
    public byte IcmpCode;
    /// <summary>ICMP echo identifier (of a destination unreachable: the quoted echo request's, else 0).</summary>
    public ushort IcmpId;
    /// <summary>ICMP echo sequence number (of a destination unreachable: the quoted echo request's, else 0).</summary>
    public ushort IcmpSeq;

    /// <summary>UDP/TCP source port.</summary>
    public ushort SrcPort;
    /// <summary>UDP/TCP destination port.</summary>
    public ushort DstPort;
    /// <summary>TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10).</summary>
    public byte TcpFlags;
    /// <summary>TCP sequence number.</summary>
    public uint TcpSeq;
    /// <summary>TCP acknowledgement number.</summary>
    public uint TcpAck;

    /// <summary>DNS transaction id.</summary>
    public ushort DnsId;
    /// <summary>DNS QR bit: true for a response.</summary>
    public bool DnsIsResponse;
    /// <summary>DNS rcode.</summary>
    public byte DnsRcode;
    /// <summary>64-bit FNV-1a hash of the first question's name, case-folded.</summary>
    public ulong DnsQnameHash;
    /// <summary>First question's type.</summary>
    public ushort DnsQtype;

    /// <summary>TCP SYN without ACK.</summary>
    public readonly bool IsSyn => Transport == TransportKind.Tcp && (TcpFlags & 0x12) == 0x02;
    /// <summary>TCP SYN with ACK.</summary>
    public readonly bool IsSynAck => Transport == TransportKind.Tcp && (TcpFlags & 0x12) == 0x12;
    /// <summary>ARP, or its IPv6 twin neighbour discovery.</summary>
    public readonly bool IsNeighbour => Kind is FrameKind.Arp or FrameKind.Ndp;
    /// <summary>IPv4 or IPv6 (not neighbour discovery).</summary>
    public readonly bool IsIp => Kind is FrameKind.IPv4 or FrameKind.IPv6;
    /// <summary>
    /// ARP whose sender and target protocol addresses are equal (RFC 5227 announcement), or its IPv6 twin: an
    /// unsolicited neighbour advertisement to a multicast group.
    /// </summary>
    public readonly bool IsGratuitousArp => IsNeighbour && ArpOp is 1 or 2 && ArpSenderIp == ArpTargetIp && ArpSenderIp != 0;
    /// <summary>True when the destination MAC is broadcast or multicast (ARP's broadcast, NDP's solicited-node group).</summary>
    public readonly bool IsGroupDestination => (DstMac & 0x0100_0000_0000) != 0;
}
