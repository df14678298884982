using System.Net;
using System.Net.Sockets;

namespace ReachProbe.Probes;

/// <summary>
/// PlayStation discovery, unicast to the target: the PS5 search to UDP 9302 from local port 9303 (9303–9319 when busy)
/// and the PS4 search to UDP 987, from the same socket. The console answers from an ephemeral port; an awake (200) or
/// standby (620) answer both prove it receives.
/// </summary>
public sealed class DdpProbe(IPAddress target, TimeProvider? time = null) : IProbe
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private UdpClient? _udp;

    /// <inheritdoc/>
    public string Name => "ddp";

    /// <inheritdoc/>
    public async Task<ProbeResult> ProbeAsync(CancellationToken cancellation)
    {
        if (_udp is null && Bind() is { } problem) return new ProbeResult(Name, ProbeStatus.Error, TimeSpan.Zero, problem);
        var udp = _udp!;
        while (udp.Available > 0) udp.Client.Receive(new byte[2048]); // answers to an earlier, timed-out search
        var started = _time.GetTimestamp();
        try
        {
            await udp.SendAsync(Ddp.Ps5Search, new IPEndPoint(target, Ddp.Ps5Port), cancellation).ConfigureAwait(false);
            await udp.SendAsync(Ddp.Ps4Search, new IPEndPoint(target, Ddp.Ps4Port), cancellation).ConfigureAwait(false);
            while (true)
            {
                var r = await udp.ReceiveAsync(cancellation).ConfigureAwait(false);
                if (!r.RemoteEndPoint.Address.Equals(target)) continue;
                if (!Ddp.TryParse(r.Buffer, out var info, out _)) continue;
                var reason = info!.Status switch
                {
                    ConsoleStatus.Awake => "awake",
                    ConsoleStatus.Standby => "standby",
                    _ => $"status {info.StatusCode}",
                };
                return new ProbeResult(Name, ProbeStatus.Answered, _time.GetElapsedTime(started), reason) { Console = info };
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused)
        {
            // ICMP port unreachable: something at that address received the search and said no.
            return new ProbeResult(Name, ProbeStatus.Refused, _time.GetElapsedTime(started), "port unreachable — host receives, no DDP");
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.HostUnreachable or SocketError.NetworkUnreachable)
        {
            return new ProbeResult(Name, ProbeStatus.Unreachable, _time.GetElapsedTime(started), "host unreachable");
        }
    }

    private string? Bind()
    {
        for (var port = Ddp.Ps5SourcePort; port <= Ddp.Ps5SourcePort + 16; port++)
        {
            try
            {
                _udp = new UdpClient(new IPEndPoint(IPAddress.Any, port));
                return null;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
            }
        }
        return $"UDP ports {Ddp.Ps5SourcePort}–{Ddp.Ps5SourcePort + 16} are all in use";
    }

    /// <inheritdoc/>
    public void Dispose() => _udp?.Dispose();
}
