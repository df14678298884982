using System.Buffers.Binary;

namespace ReachProbe.Probes;

/// <summary>What an incoming ICMP message means for an outstanding echo request.</summary>
public enum IcmpMatch : byte
{
    /// <summary>Not about our request (another pinger's reply, another id or sequence, truncated, garbage).</summary>
    None,
    /// <summary>Our echo reply.</summary>
    Reply,
    /// <summary>An ICMP error (destination unreachable, time exceeded) quoting our request.</summary>
    Error,
}

/// <summary>An ICMP message about an echo request: a reply from <paramref name="Target"/>, or an error about a request to it.</summary>
/// <param name="Kind">Reply or error.</param>
/// <param name="Target">The address the request went to.</param>
/// <param name="Id">The request's identifier.</param>
/// <param name="Sequence">The request's sequence number.</param>
/// <param name="Type">ICMP type.</param>
/// <param name="Code">ICMP code.</param>
/// <param name="From">Who sent this message.</param>
/// <remarks>Addresses as the wire path keeps them (IPv4 in the low word). An ICMPv6 message's type and code are given
/// in ICMPv4's numbers (<see cref="IcmpPacket.TryReadV6"/>), so that one reading serves both families.</remarks>
public readonly record struct IcmpMessage(IcmpMatch Kind, UInt128 Target, ushort Id, ushort Sequence, byte Type, byte Code, UInt128 From);

/// <summary>Builds echo requests and matches replies and errors to them. Pure; parsing uses Try-style returns, no throws.</summary>
public static class IcmpPacket
{
    /// <summary>Builds an echo request with the RFC 1071 checksum.</summary>
    public static byte[] EchoRequest(ushort id, ushort sequence, ReadOnlySpan<byte> payload)
    {
        var packet = Echo(8, id, sequence, payload);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), Checksum(packet));
        return packet;
    }

    /// <summary>
    /// Builds an ICMPv6 echo request (type 128). The checksum is left 0: it covers the IPv6 pseudo-header, which the
    /// kernel fills in for ICMPv6 sockets (RFC 3542 §3.1), raw and datagram alike.
    /// </summary>
    public static byte[] EchoRequestV6(ushort id, ushort sequence, ReadOnlySpan<byte> payload) => Echo(128, id, sequence, payload);

    private static byte[] Echo(byte type, ushort id, ushort sequence, ReadOnlySpan<byte> payload)
    {
        var packet = new byte[8 + payload.Length];
        packet[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), sequence);
        payload.CopyTo(packet.AsSpan(8));
        return packet;
    }

    /// <summary>
    /// Reads a received ICMPv6 message (an ICMPv6 socket passes no IPv6 header; <paramref name="from"/> is its sender) that
    /// may be about one of our echo requests: an echo reply (129) from its target, or an error quoting an echo request
    /// (its target the quoted destination). Type and code come in ICMPv4's numbers: destination unreachable 3 (no route
    /// 0 → network unreachable; address unreachable 3 → host unreachable 1; port unreachable 4 → 3; administratively
    /// prohibited 1, and the policy and reject routes 5 and 6, → 13), time exceeded 11, parameter problem 12. False for
    /// anything else (neighbour discovery, another's request).
    /// </summary>
    public static bool TryReadV6(ReadOnlySpan<byte> icmp, UInt128 from, out IcmpMessage message)
    {
        message = default;
        if (icmp.Length < 8) return false;
        byte type = icmp[0], code = icmp[1];
        if (type == 129)
        {
            message = new IcmpMessage(IcmpMatch.Reply, from, BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]), BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]), 0, 0, from);
            return true;
        }
        if (type is not (1 or 3 or 4)) return false;
        // The error quotes as much of our packet as fits (RFC 4443 §3): the IPv6 header, then our echo request.
        var quoted = icmp[8..];
        if (quoted.Length < 48 || quoted[0] >> 4 != 6 || quoted[6] != 58 || quoted[40] != 128) return false;
        var (v4Type, v4Code) = type switch
        {
            1 => ((byte)3, code switch { 0 => (byte)0, 3 => (byte)1, 4 => (byte)3, 1 or 5 or 6 => (byte)13, _ => code }),
            3 => ((byte)11, code),
            _ => ((byte)12, code),
        };
        message = new IcmpMessage(IcmpMatch.Error, Wire.Addresses.ReadIPv6(quoted[24..]),
            BinaryPrimitives.ReadUInt16BigEndian(quoted[44..]), BinaryPrimitives.ReadUInt16BigEndian(quoted[46..]), v4Type, v4Code, from);
        return true;
    }

    /// <summary>The ICMPv6 checksum (RFC 4443 §2.3): RFC 1071's over the IPv6 pseudo-header and the message (its checksum field zero).</summary>
    public static ushort ChecksumV6(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, ReadOnlySpan<byte> message)
    {
        var pseudo = new byte[40 + message.Length];
        source.CopyTo(pseudo);
        destination.CopyTo(pseudo.AsSpan(16));
        BinaryPrimitives.WriteUInt32BigEndian(pseudo.AsSpan(32), (uint)message.Length);
        pseudo[39] = 58;
        message.CopyTo(pseudo.AsSpan(40));
        return Checksum(pseudo);
    }

    /// <summary>The RFC 1071 Internet checksum.</summary>
    public static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        var i = 0;
        for (; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length) sum += (uint)(data[i] << 8);
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    /// <summary>
    /// Reads a received ICMP message that may be about one of our echo requests: an echo reply (its
    /// <see cref="IcmpMessage.Target"/> is its sender) or an error quoting an echo request (its target is the quoted
    /// destination). <paramref name="withIpHeader"/> is true for raw sockets (the kernel passes the IPv4 header), false
    /// for datagram ICMP sockets, where <paramref name="from"/> gives the sender. False for anything else.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> data, bool withIpHeader, UInt128 from, out IcmpMessage message)
    {
        message = default;
        var icmp = data;
        if (withIpHeader)
        {
            if (data.Length < 20 || data[0] >> 4 != 4) return false;
            var ihl = (data[0] & 0x0F) * 4;
            if (ihl < 20 || data.Length < ihl || data[9] != 1) return false;
            from = BinaryPrimitives.ReadUInt32BigEndian(data[12..]);
            icmp = data[ihl..];
        }
        if (icmp.Length < 8) return false;
        byte type = icmp[0], code = icmp[1];
        if (type == 0)
        {
            message = new IcmpMessage(IcmpMatch.Reply, from, BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]), BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]), type, code, from);
            return true;
        }
        if (type is not (3 or 11 or 12)) return false;
        // The error quotes our IPv4 header and at least the first 8 bytes of our echo request (RFC 792).
        var quoted = icmp[8..];
        if (quoted.Length < 28 || quoted[0] >> 4 != 4) return false;
        var qihl = (quoted[0] & 0x0F) * 4;
        if (qihl < 20 || quoted.Length < qihl + 8 || quoted[9] != 1) return false;
        var inner = quoted[qihl..];
        if (inner[0] != 8) return false;
        message = new IcmpMessage(IcmpMatch.Error, BinaryPrimitives.ReadUInt32BigEndian(quoted[16..]),
            BinaryPrimitives.ReadUInt16BigEndian(inner[4..]), BinaryPrimitives.ReadUInt16BigEndian(inner[6..]), type, code, from);
        return true;
    }

    /// <summary>
    /// Matches a received ICMP message to one request (<see cref="TryRead"/>, then its target, sequence and, when
    /// <paramref name="matchId"/>, identifier: false for datagram sockets, where the kernel rewrites the identifier).
    /// </summary>
    public static IcmpMatch Match(ReadOnlySpan<byte> data, bool withIpHeader, UInt128 target, ushort id, ushort sequence, bool matchId,
        out byte type, out byte code, out UInt128 from)
    {
        type = code = 0;
        from = 0;
        if (!TryRead(data, withIpHeader, 0, out var m)) return IcmpMatch.None;
        (type, code, from) = (m.Type, m.Code, m.From);
        // A reply's sender is known only with the IP header; a datagram socket only delivers replies from where it sent.
        if ((m.Kind == IcmpMatch.Error || withIpHeader) && m.Target != target) return IcmpMatch.None;
        return m.Sequence == sequence && (!matchId || m.Id == id) ? m.Kind : IcmpMatch.None;
    }

    /// <summary>Human name of an ICMP error.</summary>
    public static string Describe(byte type, byte code) => (type, code) switch
    {
        (3, 0) => "network unreachable",
        (3, 1) => "host unreachable",
        (3, 2) => "protocol unreachable",
        (3, 3) => "port unreachable",
        (3, 9 or 10 or 13) => "administratively prohibited",
        (3, _) => $"destination unreachable (code {code})",
        (11, _) => "time exceeded",
        _ => $"ICMP type {type} code {code}",
    };
}
