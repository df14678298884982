namespace ReachProbe.Wire;

/// <summary>Frame counts by protocol, comparable to tshark's display-filter counts for outer Ethernet/IPv4 and IPv6.</summary>
public sealed class WireCounters
{
    /// <summary>Frames seen.</summary>
    public long Frames { get; internal set; }
    /// <summary>Captured bytes.</summary>
    public long Bytes { get; internal set; }
    /// <summary>ARP requests (opcode 1).</summary>
    public long ArpRequests { get; internal set; }
    /// <summary>ARP replies (opcode 2).</summary>
    public long ArpReplies { get; internal set; }
    /// <summary>Gratuitous ARP (sender address equals target address).</summary>
    public long ArpGratuitous { get; internal set; }
    /// <summary>ICMP echo requests (IPv4).</summary>
    public long EchoRequests { get; internal set; }
    /// <summary>ICMP echo replies (IPv4).</summary>
    public long EchoReplies { get; internal set; }
    /// <summary>ICMPv6 echo requests.</summary>
    public long EchoV6Requests { get; internal set; }
    /// <summary>ICMPv6 echo replies.</summary>
    public long EchoV6Replies { get; internal set; }
    /// <summary>Neighbour solicitations (ARP requests' IPv6 twin).</summary>
    public long NdpSolicitations { get; internal set; }
    /// <summary>Neighbour advertisements (ARP replies' twin).</summary>
    public long NdpAdvertisements { get; internal set; }
    /// <summary>Unsolicited neighbour advertisements to a multicast group (gratuitous ARP's twin).</summary>
    public long NdpUnsolicited { get; internal set; }
    /// <summary>DNS queries over UDP port 53 (IPv4 and IPv6).</summary>
    public long DnsQueries { get; internal set; }
    /// <summary>DNS responses over UDP port 53 (IPv4 and IPv6).</summary>
    public long DnsResponses { get; internal set; }
    /// <summary>TCP SYN without ACK (IPv4 and IPv6).</summary>
    public long TcpSyn { get; internal set; }
    /// <summary>TCP SYN/ACK.</summary>
    public long TcpSynAck { get; internal set; }
    /// <summary>IPv6 frames (malformed ones too).</summary>
    public long IPv6 { get; internal set; }
    /// <summary>Frames that could not be fully decoded, by reason.</summary>
    public Dictionary<DecodeIssue, long> Malformed { get; } = [];

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal void Count(in DecodedFrame f, int length)
    {
        Frames++;
        Bytes += length;
        if (f.Issue != DecodeIssue.None) Malformed[f.Issue] = Malformed.GetValueOrDefault(f.Issue) + 1;
        switch (f.Kind)
        {
            case FrameKind.Arp:
                if (f.ArpOp == 1) ArpRequests++;
                else if (f.ArpOp == 2) ArpReplies++;
                if (f.IsGratuitousArp) ArpGratuitous++;
                break;
            case FrameKind.Ndp:
                IPv6++;
                if (f.ArpOp == 1) NdpSolicitations++;
                else NdpAdvertisements++;
                if (f.IsGratuitousArp) NdpUnsolicited++;
                break;
            case FrameKind.IPv4 or FrameKind.IPv6:
                var v6 = f.Kind == FrameKind.IPv6;
                if (v6) IPv6++;
                switch (f.Transport)
                {
                    case TransportKind.IcmpEcho when f.IcmpType == 8: if (v6) EchoV6Requests++; else EchoRequests++; break;
                    case TransportKind.IcmpEcho: if (v6) EchoV6Replies++; else EchoReplies++; break;
                    case TransportKind.Dns when f.DnsIsResponse: DnsResponses++; break;
                    case TransportKind.Dns: DnsQueries++; break;
                    case TransportKind.Tcp when f.IsSyn: TcpSyn++; break;
                    case TransportKind.Tcp when f.IsSynAck: TcpSynAck++; break;
                }
                break;
            default:
                if (f.Issue == DecodeIssue.BadIpv6Header) IPv6++;
                break;
        }
    }
}
