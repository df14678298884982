using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace ReachProbe.Probes;

/// <summary>
/// ICMP echo through the process's one ICMP socket (<see cref="IcmpEngine"/>): raw as root (or with CAP_NET_RAW), else an
/// unprivileged datagram ICMP socket where <c>net.ipv4.ping_group_range</c> allows. The agent has one random identifier,
/// each probe its own sequence, and a microsecond RTT (System.Net.NetworkInformation.Ping shells out to /bin/ping as non-root).
/// </summary>
public sealed class IcmpProbe(IPAddress target, TimeProvider? time = null) : IProbe, IEchoAttempt
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private ushort _sequence = (ushort)RandomNumberGenerator.GetInt32(0, 65536);

    /// <inheritdoc/>
    public string Name => "icmp";

    /// <inheritdoc/>
    public ushort Sequence => _sequence;

    /// <inheritdoc/>
    /// <remarks>Through the process's one ICMP socket (<see cref="IcmpEngine"/>); the answer is this attempt's by its sequence number.</remarks>
    public async Task<ProbeResult> ProbeAsync(CancellationToken cancellation)
    {
        var sequence = ++_sequence;
        var started = _time.GetTimestamp();
        try
        {
            var answer = await IcmpEngine.Shared.EchoAsync(target, sequence, cancellation).ConfigureAwait(false);
            var elapsed = _time.GetElapsedTime(started);
            return answer.Kind == IcmpMatch.Reply
                ? new ProbeResult(Name, ProbeStatus.Answered, elapsed, "echo reply")
                : new ProbeResult(Name, ProbeStatus.Unreachable, elapsed, IcmpPacket.Describe(answer.Type, answer.Code))
                {
                    ErrorFrom = $"{Wire.Addresses.Ip(answer.From)} (type {answer.Type} code {answer.Code})",
                };
        }
        catch (InvalidOperationException e)
        {
            return new ProbeResult(Name, ProbeStatus.Error, TimeSpan.Zero, e.Message);
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

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
