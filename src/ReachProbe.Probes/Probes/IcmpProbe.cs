using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace ReachProbe.Probes;

/// <summary>
/// ICMP echo on a socket of its own: raw as root (or with CAP_NET_RAW), else an unprivileged datagram ICMP socket where
/// <c>net.ipv4.ping_group_range</c> allows. Each probe has a random identifier, its own sequence, and a microsecond RTT
/// (dotnet/runtime's Ping.RawSocket does the same; System.Net.NetworkInformation.Ping shells out to /bin/ping as non-root).
/// </summary>
public sealed class IcmpProbe(IPAddress target, TimeProvider? time = null) : IProbe, IEchoAttempt
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private readonly uint _target = BinaryPrimitives.ReadUInt32BigEndian(target.GetAddressBytes());
    private readonly ushort _id = (ushort)RandomNumberGenerator.GetInt32(1, 65536);
    private ushort _sequence = (ushort)RandomNumberGenerator.GetInt32(0, 65536);
    private Socket? _socket;
    private bool _raw;

    /// <inheritdoc/>
    public string Name => "icmp";

    /// <inheritdoc/>
    public ushort Sequence => _sequence;

    /// <summary>"raw" or "datagram" once a socket is open.</summary>
    public string? SocketKind => _socket is null ? null : _raw ? "raw" : "datagram";

    /// <inheritdoc/>
    public async Task<ProbeResult> ProbeAsync(CancellationToken cancellation)
    {
        if (_socket is null && OpenSocket() is { } problem) return new ProbeResult(Name, ProbeStatus.Error, TimeSpan.Zero, problem);
        var socket = _socket!;
        var sequence = ++_sequence;
        var payload = new byte[24];
        RandomNumberGenerator.Fill(payload);
        var request = IcmpPacket.EchoRequest(_id, sequence, payload);
        var buffer = new byte[2048];
        var started = _time.GetTimestamp();
        try
        {
            await socket.SendToAsync(request, SocketFlags.None, new IPEndPoint(target, 0), cancellation).ConfigureAwait(false);
            while (true)
            {
                var r = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cancellation).ConfigureAwait(false);
                var elapsed = _time.GetElapsedTime(started);
                var match = IcmpPacket.Match(buffer.AsSpan(0, r.ReceivedBytes), _raw, _target, _id, sequence, matchId: _raw, out var type, out var code, out var from);
                if (!_raw) from = BinaryPrimitives.ReadUInt32BigEndian(((IPEndPoint)r.RemoteEndPoint).Address.GetAddressBytes());
                switch (match)
                {
                    case IcmpMatch.Reply:
                        return new ProbeResult(Name, ProbeStatus.Answered, elapsed, "echo reply");
                    case IcmpMatch.Error:
                        return new ProbeResult(Name, ProbeStatus.Unreachable, elapsed, IcmpPacket.Describe(type, code))
                        {
                            ErrorFrom = $"{Wire.Addresses.Ip(from)} (type {type} code {code})",
                        };
                }
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostDown)
        {
            return new ProbeResult(Name, ProbeStatus.Unreachable, _time.GetElapsedTime(started), Describe(e.SocketErrorCode));
        }
        catch (SocketException e)
        {
            return new ProbeResult(Name, ProbeStatus.Error, _time.GetElapsedTime(started), e.Message);
        }
    }

    private static string Describe(SocketError error) => error switch
    {
        SocketError.HostUnreachable => "host unreachable (no ARP answer)",
        SocketError.NetworkUnreachable => "network unreachable (no route)",
        _ => error.ToString(),
    };

    private string? OpenSocket()
    {
        try
        {
            _socket = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp);
            _raw = true;
            return null;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AccessDenied or SocketError.OperationNotSupported)
        {
        }
        try
        {
            _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Icmp);
            _raw = false;
            return null;
        }
        catch (SocketException)
        {
            return "no permission for ICMP: needs CAP_NET_RAW (run as root, or 'setcap cap_net_raw+ep' on the program), "
                + "or a group in net.ipv4.ping_group_range";
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _socket?.Dispose();
}
