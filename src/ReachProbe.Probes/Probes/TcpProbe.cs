using System.Net;
using System.Net.Sockets;

namespace ReachProbe.Probes;

/// <summary>TCP connect to one port. A refusal (RST) proves the host receives: alive but closed, distinct from a timeout.</summary>
public sealed class TcpProbe(IPAddress target, int port, TimeProvider? time = null, ProbeLimiter? limiter = null) : IProbe
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ProbeLimiter _limiter = limiter ?? ProbeLimiter.Shared;

    /// <inheritdoc/>
    /// <remarks>"tcp6:PORT" for an IPv6 target: a device watched in both families has both.</remarks>
    public string Name { get; } = target.AddressFamily == AddressFamily.InterNetworkV6 ? $"tcp6:{port}" : $"tcp:{port}";

    /// <inheritdoc/>
    public Task<ProbeResult> ProbeAsync(CancellationToken cancellation) => _limiter.RunAsync(Name, ConnectAsync, cancellation);

    private async Task<ProbeResult> ConnectAsync(CancellationToken cancellation)
    {
        using var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var started = _time.GetTimestamp();
        try
        {
            await socket.ConnectAsync(new IPEndPoint(target, port), cancellation).ConfigureAwait(false);
            return new ProbeResult(Name, ProbeStatus.Answered, _time.GetElapsedTime(started), "open");
        }
        catch (SocketException e)
        {
            var elapsed = _time.GetElapsedTime(started);
            return e.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => new ProbeResult(Name, ProbeStatus.Refused, elapsed, "refused — host receives"),
                SocketError.HostUnreachable => new ProbeResult(Name, ProbeStatus.Unreachable, elapsed, "host unreachable (no ARP or neighbour discovery answer)"),
                SocketError.NetworkUnreachable => new ProbeResult(Name, ProbeStatus.Unreachable, elapsed, "network unreachable (no route)"),
                SocketError.TimedOut => new ProbeResult(Name, ProbeStatus.Timeout, elapsed, "timeout"),
                _ => new ProbeResult(Name, ProbeStatus.Error, elapsed, e.Message),
            };
        }
    }

    /// <inheritdoc/>
    public void Dispose() { }
}
