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
public readonly record struct IcmpMessage(IcmpMatch Kind, uint Target, ushort Id, ushort Sequence, byte Type, byte Code, uint From);

/// <summary>Builds echo requests and matches replies and errors to them. Pure; parsing uses Try-style returns, no throws.</summary>
public static class IcmpPacket
{
    /// <summary>Builds an echo request with the RFC 1071 checksum.</summary>
    public static byte[] EchoRequest(ushort id, ushort sequence, ReadOnlySpan<byte> payload)
    {
        var packet = new byte[8 + payload.Length];
        packet[0] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), sequence);
        payload.CopyTo(packet.AsSpan(8));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), Checksum(packet));
        return packet;
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
    public static bool TryRead(ReadOnlySpan<byte> data, bool withIpHeader, uint from, out IcmpMessage message)
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
    public static IcmpMatch Match(ReadOnlySpan<byte> data, bool withIpHeader, uint target, ushort id, ushort sequence, bool matchId,
        out byte type, out byte code, out uint from)
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
