using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace ReachProbe.Probes;

/// <summary>
/// One UDP socket for every DDP probe of the process, bound to the PS5 search's source port (9303, or the next free up
/// to 9319): the searches go out through it, and one reader thread hands each answer to the attempt waiting for the
/// address it came from. With a socket per probe, only 17 targets could be searched at all — the 18th found every
/// port taken, at every attempt.
/// </summary>
public sealed class DdpEngine : IDisposable
{
    private static readonly Lazy<DdpEngine> Instance = new(() => new DdpEngine());

    /// <summary>The process's engine.</summary>
    public static DdpEngine Shared => Instance.Value;

    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<uint, Action<DdpInfo>> _waiting = new();
    private Socket? _socket;
    private volatile bool _stop;

    /// <summary>Attempts waiting for an answer.</summary>
    public int Pending => _waiting.Count;

    /// <summary>
    /// Sends the PS5 and PS4 searches to <paramref name="target"/>; <paramref name="onAnswer"/> gets its first answer
    /// (on the engine's thread) until <see cref="Forget"/>. Returns null when sent, else the problem (no free port, the
    /// kernel refused the send); nothing is then waiting.
    /// </summary>
    public string? Search(IPAddress target, Action<DdpInfo> onAnswer)
    {
        var key = Wire.Addresses.ToUInt(target);
        Socket socket;
        lock (_gate)
        {
            if (_socket is null && Open() is { } problem) return problem;
            socket = _socket!;
        }
        _waiting[key] = onAnswer;
        try
        {
            socket.SendTo(Ddp.Ps5Search, SocketFlags.None, new IPEndPoint(target, Ddp.Ps5Port));
            socket.SendTo(Ddp.Ps4Search, SocketFlags.None, new IPEndPoint(target, Ddp.Ps4Port));
            return null;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Forget(target, onAnswer);
            return e is SocketException { SocketErrorCode: SocketError.HostUnreachable or SocketError.NetworkUnreachable } ? Unreachable : e.Message;
        }
    }

    /// <summary>The problem <see cref="Search"/> returns when the kernel has no way to the target.</summary>
    public const string Unreachable = "host unreachable";

    /// <summary>Stops waiting for <paramref name="target"/>'s answer (when it is still this attempt's).</summary>
    public void Forget(IPAddress target, Action<DdpInfo> onAnswer) =>
        _waiting.TryRemove(new KeyValuePair<uint, Action<DdpInfo>>(Wire.Addresses.ToUInt(target), onAnswer));

    private string? Open()
    {
        for (var port = Ddp.Ps5SourcePort; port <= Ddp.Ps5SourcePort + 16; port++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Any, port));
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                socket.Dispose();
                continue;
            }
            socket.ReceiveTimeout = 1000; // to notice Dispose
            _socket = socket;
            _stop = false;
            new Thread(() => Receive(socket)) { IsBackground = true, Name = "ddp answers" }.Start();
            return null;
        }
        return $"UDP ports {Ddp.Ps5SourcePort}–{Ddp.Ps5SourcePort + 16} are all in use";
    }

    private void Receive(Socket socket)
    {
        var buffer = new byte[2048];
        var address = new SocketAddress(AddressFamily.InterNetwork);
        while (!_stop)
        {
            int n;
            try
            {
                n = socket.ReceiveFrom(buffer, SocketFlags.None, address);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // the receive timeout (to look at _stop), or an ICMP error queued for an earlier search
            }
            // The console answers from an ephemeral port: it is known by its address (sockaddr_in: family, port, address).
            var from = BinaryPrimitives.ReadUInt32BigEndian(address.Buffer.Span.Slice(4, 4));
            if (!_waiting.ContainsKey(from) || !Ddp.TryParse(buffer.AsSpan(0, n), out var info, out _)) continue;
            if (_waiting.TryRemove(from, out var onAnswer)) onAnswer(info!);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate)
        {
            _stop = true;
            _socket?.Dispose();
            _socket = null;
        }
    }
}
