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
    /// <summary>Anything that is neither ARP nor IPv4 (IPv6, LLDP, 802.3/LLC …).</summary>
    Other,
    /// <summary>Ethernet/IPv4 ARP.</summary>
    Arp,
    /// <summary>IPv4.</summary>
    IPv4,
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
/// MAC addresses are 48-bit values in the low bits of a <see cref="ulong"/>; IPv4 addresses
/// are in host order (192.168.1.27 is 0xC0A8011B).
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
    /// <summary>IPv6 seen (not analysed further).</summary>
    public bool IsIPv6;

    /// <summary>ARP opcode (1 request, 2 reply).</summary>
    public ushort ArpOp;
    /// <summary>ARP sender hardware address.</summary>
    public ulong ArpSenderMac;
    /// <summary>ARP target hardware address.</summary>
    public ulong ArpTargetMac;
    /// <summary>ARP sender protocol address.</summary>
    public uint ArpSenderIp;
    /// <summary>ARP target protocol address.</summary>
    public uint ArpTargetIp;

    /// <summary>IPv4 source.</summary>
    public uint IpSrc;
    /// <summary>IPv4 destination.</summary>
    public uint IpDst;
    /// <summary>IPv4 protocol number.</summary>
    public byte IpProtocol;
    /// <summary>Transport payload kind.</summary>
    public TransportKind Transport;

    /// <summary>ICMP type.</summary>
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
    /// <summary>ARP whose sender and target protocol addresses are equal (RFC 5227 announcement).</summary>
    public readonly bool IsGratuitousArp => Kind == FrameKind.Arp && ArpOp is 1 or 2 && ArpSenderIp == ArpTargetIp && ArpSenderIp != 0;
}
