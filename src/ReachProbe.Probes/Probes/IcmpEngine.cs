using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace ReachProbe.Probes;

/// <summary>
/// One ICMP socket for every ICMP probe of the process (and one ICMPv6 socket for IPv6 targets): echo requests go out through it, and one receive loop hands
/// each reply (or ICMP error) to the attempt it answers, by the target's address and the attempt's sequence number
/// (and, on a raw socket, this agent's random identifier). With a socket per target, every raw socket received every
/// reply: a thousand targets cost a million wake-ups a second. A raw socket is used when allowed, else a ping socket
/// (net.ipv4.ping_group_range, which governs ICMPv6 ping sockets too), whose identifier the kernel sets.
/// </summary>
public sealed class IcmpEngine : IDisposable
{
    private static readonly Lazy<IcmpEngine> Instance = new(() => new IcmpEngine());

    /// <summary>The process's engine.</summary>
    public static IcmpEngine Shared => Instance.Value;

    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<(UInt128 Target, ushort Seq), Action<Answer?>> _pending = new();
    private readonly byte[] _payload = RandomNumberGenerator.GetBytes(24);
    private Socket? _socket, _socket6;
    private CancellationTokenSource? _stop;

    /// <summary>An engine with a random identifier (<see cref="Shared"/> is the process's).</summary>
    public IcmpEngine()
        : this((ushort)RandomNumberGenerator.GetInt32(1, 65536))
    {
    }

    /// <summary>An engine with a given identifier: for tests of the demultiplexer, which need not send.</summary>
    internal IcmpEngine(ushort id) => Id = id;

    /// <summary>This agent's identifier in its echo requests (raw sockets; a ping socket's is the kernel's).</summary>
    public ushort Id { get; }

    /// <summary>What answered an attempt: a reply, or an ICMP error about it (type, code, from whom).</summary>
    /// <remarks>An ICMPv6 error's type and code are given in ICMPv4's numbers (<see cref="IcmpPacket.TryReadV6"/>).</remarks>
    public readonly record struct Answer(IcmpMatch Kind, byte Type, byte Code, UInt128 From);

    /// <summary>Attempts waiting for their answer.</summary>
    public int Pending => _pending.Count;

    /// <summary>
    /// Sends one echo request to <paramref name="target"/> with <paramref name="sequence"/>; <paramref name="done"/> is
    /// called once, with its answer, or with null when <paramref name="timeout"/> has passed first (timed by one
    /// <see cref="DeadlineSweep"/> of <paramref name="time"/>, not a timer per attempt). Throws
    /// <see cref="SocketException"/> when the kernel refuses to send (no route, no neighbour), and
    /// <see cref="InvalidOperationException"/> with the reason when no ICMP socket can be had; nothing is pending then.
    /// </summary>
    public void Echo(IPAddress target, ushort sequence, TimeSpan timeout, TimeProvider time, Action<Answer?> done)
    {
        var key = Begin(target, sequence, done);
        var started = time.GetTimestamp();
        Send(target, sequence, key, done);
        Expire(key, done, started, timeout, time);
    }

    /// <summary>Waits for the answer to an attempt without sending it (the demultiplexer's tests send nothing).</summary>
    internal void Expect(IPAddress target, ushort sequence, TimeSpan timeout, TimeProvider time, Action<Answer?> done) =>
        Expire(Begin(target, sequence, done), done, time.GetTimestamp(), timeout, time);

    // Whoever removes the attempt first (the receive loop with an answer, or the sweep at its deadline) completes it.
    private void Expire((UInt128, ushort) key, Action<Answer?> done, long started, TimeSpan timeout, TimeProvider time) =>
        DeadlineSweep.For(time).Add(started, timeout, () =>
        {
            if (_pending.TryRemove(new KeyValuePair<(UInt128, ushort), Action<Answer?>>(key, done))) done(null);
        });

    /// <summary>
    /// Sends one echo request and waits for its answer until <paramref name="cancellation"/> (for a caller that times
    /// the attempt itself). Throws as <see cref="Echo"/> does.
    /// </summary>
    public async Task<Answer> EchoAsync(IPAddress target, ushort sequence, CancellationToken cancellation)
    {
        var waiter = new TaskCompletionSource<Answer>(TaskCreationOptions.RunContinuationsAsynchronously);
        Action<Answer?> done = a => waiter.TrySetResult(a!.Value);
        var key = Begin(target, sequence, done);
        Send(target, sequence, key, done);
        try
        {
            using var _ = cancellation.Register(() => waiter.TrySetCanceled(cancellation));
            return await waiter.Task.ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(new KeyValuePair<(UInt128, ushort), Action<Answer?>>(key, done));
        }
    }

    private (UInt128, ushort) Begin(IPAddress target, ushort sequence, Action<Answer?> done)
    {
        var key = (Wire.Addresses.ToKey(target), sequence);
        _pending[key] = done;
        return key;
    }

    private void Send(IPAddress target, ushort sequence, (UInt128, ushort) key, Action<Answer?> done)
    {
        try
        {
            // A datagram to a raw or ping socket: the kernel queues it at once (never a wait for the wire).
            var v6 = target.AddressFamily == AddressFamily.InterNetworkV6;
            Open(v6).SendTo(v6 ? IcmpPacket.EchoRequestV6(Id, sequence, _payload) : IcmpPacket.EchoRequest(Id, sequence, _payload), SocketFlags.None, new IPEndPoint(target, 0));
        }
        catch
        {
            _pending.TryRemove(new KeyValuePair<(UInt128, ushort), Action<Answer?>>(key, done));
            throw;
        }
    }

    private Socket Open(bool v6)
    {
        lock (_gate)
        {
            if ((v6 ? _socket6 : _socket) is { } open) return open;
            var family = v6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
            var protocol = v6 ? ProtocolType.IcmpV6 : ProtocolType.Icmp;
            Socket socket;
            try
            {
                socket = new Socket(family, SocketType.Raw, protocol);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.AccessDenied or SocketError.OperationNotSupported)
            {
                try
                {
                    socket = new Socket(family, SocketType.Dgram, protocol);
                }
                catch (SocketException)
                {
                    throw new InvalidOperationException($"no permission for {(v6 ? "ICMPv6" : "ICMP")}: needs CAP_NET_RAW (run as root, or 'setcap cap_net_raw+ep' on the program), "
                        + "or a group in net.ipv4.ping_group_range");
                }
            }
            if (v6) _socket6 = socket;
            else _socket = socket;
            // Bound before the receive loop starts: an unbound socket refuses ReceiveFrom until its first send.
            socket.Bind(new IPEndPoint(v6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
            // Replies are read by a thread of the engine's own, blocked in recvfrom: no thread-pool thread is held or
            // needed (at start the pool is busy, and a reply that waited for it past its deadline was a false timeout),
            // and a reply costs one wake-up, not the socket engine's and then a pool thread's.
            socket.ReceiveTimeout = 1000; // to notice Dispose
            _stop ??= new CancellationTokenSource();
            var stop = _stop.Token;
            new Thread(() => Receive(socket, socket.SocketType == SocketType.Raw, v6, stop)) { IsBackground = true, Name = v6 ? "icmpv6 replies" : "icmp replies" }.Start();
            return socket;
        }
    }

    private void Receive(Socket socket, bool raw, bool v6, CancellationToken stop)
    {
        var buffer = new byte[2048];
        var address = new SocketAddress(v6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        while (!stop.IsCancellationRequested)
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
                continue; // the receive timeout (to look at stop), or an error queued on a ping socket: it answers no attempt we can name
            }
            catch (Exception e) when (e is InvalidOperationException or IOException)
            {
                // The socket is broken: the next attempt opens a new one.
                lock (_gate)
                {
                    if (ReferenceEquals(_socket, socket)) _socket = null;
                    if (ReferenceEquals(_socket6, socket)) _socket6 = null;
                    socket.Dispose();
                }
                return;
            }
            if (v6)
            {
                // sockaddr_in6: family (2 bytes), port (2), flow information (4), then the address. No IPv6 header comes.
                DispatchV6(buffer.AsSpan(0, n), raw, Wire.Addresses.ReadIPv6(address.Buffer.Span.Slice(8, 16)));
                continue;
            }
            // sockaddr_in: family (2 bytes), port (2), then the address.
            var from = BinaryPrimitives.ReadUInt32BigEndian(address.Buffer.Span.Slice(4, 4));
            Dispatch(buffer.AsSpan(0, n), raw, from);
        }
    }

    /// <summary>Hands one received ICMPv6 message to the attempt it answers, if any is still waiting.</summary>
    internal void DispatchV6(ReadOnlySpan<byte> data, bool raw, UInt128 from)
    {
        if (!IcmpPacket.TryReadV6(data, from, out var m)) return;
        if (raw && m.Id != Id) return; // another pinger's
        if (_pending.TryRemove((m.Target, m.Sequence), out var done)) done(new Answer(m.Kind, m.Type, m.Code, m.From));
    }

    /// <summary>Hands one received ICMP message to the attempt it answers, if any is still waiting.</summary>
    internal void Dispatch(ReadOnlySpan<byte> data, bool raw, UInt128 from)
    {
        if (!IcmpPacket.TryRead(data, raw, from, out var m)) return;
        if (raw && m.Id != Id) return; // another pinger's
        if (_pending.TryRemove((m.Target, m.Sequence), out var done)) done(new Answer(m.Kind, m.Type, m.Code, m.From));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate)
        {
            _stop?.Cancel();
            _stop = null;
            _socket?.Dispose();
            _socket6?.Dispose();
            _socket = _socket6 = null;
        }
    }
}
