using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace ReachProbe.Probes;

/// <summary>
/// One ICMP socket for every ICMP probe of the process: echo requests go out through it, and one receive loop hands
/// each reply (or ICMP error) to the attempt it answers, by the target's address and the attempt's sequence number
/// (and, on a raw socket, this agent's random identifier). With a socket per target, every raw socket received every
/// reply: a thousand targets cost a million wake-ups a second. A raw socket is used when allowed, else a ping socket
/// (net.ipv4.ping_group_range), whose identifier the kernel sets.
/// </summary>
public sealed class IcmpEngine : IDisposable
{
    private static readonly Lazy<IcmpEngine> Instance = new(() => new IcmpEngine());

    /// <summary>The process's engine.</summary>
    public static IcmpEngine Shared => Instance.Value;

    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<(uint Target, ushort Seq), TaskCompletionSource<Answer>> _pending = new();
    private Socket? _socket;
    private CancellationTokenSource? _stop;

    /// <summary>This agent's identifier in its echo requests (raw sockets; a ping socket's is the kernel's).</summary>
    public ushort Id { get; } = (ushort)RandomNumberGenerator.GetInt32(1, 65536);

    /// <summary>What answered an attempt: a reply, or an ICMP error about it (type, code, from whom).</summary>
    public readonly record struct Answer(IcmpMatch Kind, byte Type, byte Code, uint From);

    /// <summary>
    /// Sends one echo request to <paramref name="target"/> with <paramref name="sequence"/> and waits for its answer until
    /// <paramref name="cancellation"/>. Throws <see cref="SocketException"/> when the kernel refuses to send (no route,
    /// no neighbour), and <see cref="InvalidOperationException"/> with the reason when no ICMP socket can be had.
    /// </summary>
    public async Task<Answer> EchoAsync(IPAddress target, ushort sequence, CancellationToken cancellation)
    {
        var socket = Open();
        var key = (BinaryPrimitives.ReadUInt32BigEndian(target.GetAddressBytes()), sequence);
        var waiter = new TaskCompletionSource<Answer>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[key] = waiter;
        try
        {
            var payload = new byte[24];
            RandomNumberGenerator.Fill(payload);
            await socket.SendToAsync(IcmpPacket.EchoRequest(Id, sequence, payload), SocketFlags.None, new IPEndPoint(target, 0), cancellation).ConfigureAwait(false);
            using var _ = cancellation.Register(() => waiter.TrySetCanceled(cancellation));
            return await waiter.Task.ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(new KeyValuePair<(uint, ushort), TaskCompletionSource<Answer>>(key, waiter));
        }
    }

    private Socket Open()
    {
        lock (_gate)
        {
            if (_socket is not null) return _socket;
            try
            {
                _socket = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.AccessDenied or SocketError.OperationNotSupported)
            {
                try
                {
                    _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Icmp);
                }
                catch (SocketException)
                {
                    throw new InvalidOperationException("no permission for ICMP: needs CAP_NET_RAW (run as root, or 'setcap cap_net_raw+ep' on the program), "
                        + "or a group in net.ipv4.ping_group_range");
                }
            }
            // Bound before the receive loop starts: an unbound socket refuses ReceiveFrom until its first send.
            _socket.Bind(new IPEndPoint(IPAddress.Any, 0));
            _stop = new CancellationTokenSource();
            var socket = _socket;
            _ = Task.Run(() => Receive(socket, socket.SocketType == SocketType.Raw, _stop.Token));
            return _socket;
        }
    }

    private async Task Receive(Socket socket, bool raw, CancellationToken stop)
    {
        var buffer = new byte[2048];
        while (!stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (Exception e) when (e is InvalidOperationException or IOException)
            {
                // The socket is broken: the next attempt opens a new one.
                lock (_gate)
                {
                    if (ReferenceEquals(_socket, socket))
                    {
                        _socket.Dispose();
                        _socket = null;
                    }
                }
                return;
            }
            catch (SocketException)
            {
                continue; // an error queued on a ping socket: it answers no attempt we can name
            }
            var from = BinaryPrimitives.ReadUInt32BigEndian(((IPEndPoint)r.RemoteEndPoint).Address.GetAddressBytes());
            Dispatch(buffer.AsSpan(0, r.ReceivedBytes), raw, from);
        }
    }

    private void Dispatch(ReadOnlySpan<byte> data, bool raw, uint from)
    {
        if (!IcmpPacket.TryRead(data, raw, from, out var m)) return;
        if (raw && m.Id != Id) return; // another pinger's
        if (_pending.TryGetValue((m.Target, m.Sequence), out var waiter)) waiter.TrySetResult(new Answer(m.Kind, m.Type, m.Code, m.From));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate)
        {
            _stop?.Cancel();
            _socket?.Dispose();
            _socket = null;
        }
    }
}
