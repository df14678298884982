using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace ReachProbe.Agent;

/// <summary>
/// Serves /metrics over HTTP/1.1 (text format, or OpenMetrics when the scraper asks for it; gzip when it accepts it),
/// on a socket of its own: a scrape target needs one page, and a web framework (Kestrel and ASP.NET Core, used until
/// 0.7) cost 10 MB of resident memory and 19 MB of the package for it (footprint benchmark). Limits are explicit so a slow or hostile client cannot hold the
/// agent: <see cref="MaxConnections"/> connections at once — when all are taken, the one that has waited longest for a
/// request gives way, so idle and slow sockets cannot starve a scrape — a request head of at most 8 KiB that must
/// arrive within 5 s of its first byte, 30 s for an idle kept-alive connection, no request body.
/// Anything but GET/HEAD /metrics gets a clear 4xx in plain text.
/// </summary>
public sealed class MetricsEndpoint(IPEndPoint listen, CollectorRegistry registry, ILoggerFactory? logs = null) : IHostedService, IAsyncDisposable
{
    /// <summary>Concurrent connections served; more wait in the kernel's backlog.</summary>
    public const int MaxConnections = 64;

    /// <summary>The largest request head (request line and headers) read.</summary>
    public const int MaxHead = 8192;

    /// <summary>Time for a request head to arrive once its first byte has.</summary>
    public TimeSpan HeadTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Time a kept-alive connection may wait for its next request, and a client may take to read an answer.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    private const string TextType = "text/plain; version=0.0.4; charset=utf-8";
    private const string OpenMetricsType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private readonly ILogger _log = (ILogger?)logs?.CreateLogger<MetricsEndpoint>() ?? NullLogger.Instance;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Connection> _connections = [];
    private readonly TimeProvider _time = TimeProvider.System;
    private Socket? _listener;
    private Task? _accepting;

    /// <summary>The bound address (the port is chosen by the system when 0 was asked).</summary>
    public IPEndPoint? LocalEndpoint { get; private set; }

    /// <summary>Binds the address and starts serving; throws <see cref="ListenException"/> when it cannot bind.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // As Kestrel does: a restarted agent rebinds at once, though its old connections linger in TIME_WAIT. SO_REUSEADDR
            // alone (1, 2): .NET's ReuseAddress option adds SO_REUSEPORT on Linux, and two agents would share the port.
            socket.SetRawSocketOption(1, 2, BitConverter.GetBytes(1));
            if (listen.AddressFamily == AddressFamily.InterNetworkV6 && listen.Address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
            socket.Bind(listen);
            socket.Listen(512);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ListenException($"cannot serve metrics on {listen}: {e.Message}", e);
        }
        _listener = socket;
        LocalEndpoint = (IPEndPoint)socket.LocalEndPoint!;
        _accepting = Task.Run(AcceptAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task AcceptAsync()
    {
        var stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener!.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || (e is SocketException && stop.IsCancellationRequested))
            {
                return;
            }
            catch (SocketException e)
            {
                // EMFILE and the like: say so, breathe, go on (the listener itself is fine).
                _log.MetricsAcceptFailed(e.Message);
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            var connection = new Connection(client, _time.GetTimestamp());
            try
            {
                await MakeRoomAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                client.Dispose();
                return;
            }
            lock (_connections) _connections.Add(connection);
            connection.Task = Task.Run(async () =>
            {
                try
                {
                    await ServeAsync(connection, stop).ConfigureAwait(false);
                }
                finally
                {
                    lock (_connections) _connections.Remove(connection);
                    connection.Dispose();
                }
            }, CancellationToken.None);
        }
    }

    /// <summary>
    /// Frees a slot when all are taken: the connection that has waited longest for a request (idle, or sending its head
    /// slowly) is closed — a scrape sends its whole request at once and is answered in milliseconds, so idle and slow
    /// sockets, however many, cannot keep it out. Failing that, the one that has spent longest on a single answer (a
    /// client that does not read) once it has had <see cref="HeadTimeout"/>. Only when every slot is busy answering
    /// does the new connection wait.
    /// </summary>
    private async Task MakeRoomAsync(CancellationToken stop)
    {
        while (true)
        {
            Connection? victim;
            lock (_connections)
            {
                if (_connections.Count < MaxConnections) return;
                var now = _time.GetTimestamp();
                victim = _connections.Where(c => !c.Answering).MinBy(c => c.Since)
                    ?? _connections.Where(c => _time.GetElapsedTime(c.Since, now) >= HeadTimeout).MinBy(c => c.Since);
                if (victim is not null) _connections.Remove(victim);
            }
            if (victim is not null)
            {
                victim.Evict();
                return;
            }
            await Task.Delay(10, stop).ConfigureAwait(false);
        }
    }

    /// <summary>A client connection: what it is doing (waiting for a request, or being answered) and since when.</summary>
    private sealed class Connection(Socket socket, long since) : IDisposable
    {
        private readonly CancellationTokenSource _evicted = new();

        public Socket Socket { get; } = socket;

        public long Since { get; private set; } = since;

        public bool Answering { get; private set; }

        public Task? Task { get; set; }

        public CancellationToken Evicted => _evicted.Token;

        public void Now(bool answering, long at)
        {
            Answering = answering;
            Since = at;
        }

        public void Evict()
        {
            try
            {
                _evicted.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }

        public void Dispose()
        {
            Socket.Dispose();
            _evicted.Dispose();
        }
    }

    /// <summary>One connection: requests one after another (kept alive, pipelined) until either side closes.</summary>
    private async Task ServeAsync(Connection connection, CancellationToken outer)
    {
        var client = connection.Socket;
        using var both = CancellationTokenSource.CreateLinkedTokenSource(outer, connection.Evicted);
        var stop = both.Token;
        client.NoDelay = true;
        var buffer = new byte[MaxHead];
        var filled = 0;
        try
        {
            using var stream = new NetworkStream(client, ownsSocket: false);
            while (!stop.IsCancellationRequested)
            {
                // Wait for the request's first byte (idle), then for the rest of its head.
                int end;
                using (var idle = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    idle.CancelAfter(IdleTimeout);
                    if (filled == 0)
                    {
                        var n = await stream.ReadAsync(buffer.AsMemory(0, buffer.Length), idle.Token).ConfigureAwait(false);
                        if (n == 0) return;
                        filled = n;
                    }
                }
                using (var head = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    head.CancelAfter(HeadTimeout);
                    while ((end = HeadEnd(buffer.AsSpan(0, filled))) < 0)
                    {
                        if (filled == buffer.Length)
                        {
                            await RespondAsync(stream, 431, "Request Header Fields Too Large", $"request head larger than {MaxHead} bytes\n", close: true, head: false, stop).ConfigureAwait(false);
                            await LingerAsync(client, stop).ConfigureAwait(false);
                            return;
                        }
                        var n = await stream.ReadAsync(buffer.AsMemory(filled), head.Token).ConfigureAwait(false);
                        if (n == 0) return;
                        filled += n;
                    }
                }
                bool keep;
                connection.Now(answering: true, _time.GetTimestamp());
                using (var answer = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    // A client that does not read its answer is given up after the idle time.
                    answer.CancelAfter(IdleTimeout);
                    keep = await AnswerAsync(stream, Encoding.Latin1.GetString(buffer, 0, end), answer.Token).ConfigureAwait(false);
                }
                if (!keep)
                {
                    await LingerAsync(client, stop).ConfigureAwait(false);
                    return;
                }
                connection.Now(answering: false, _time.GetTimestamp()); // kept alive: waiting for the next request
                // A pipelined next request may already be here.
                var used = end + 4;
                Buffer.BlockCopy(buffer, used, buffer, 0, filled - used);
                filled -= used;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // A client gone, too slow, or the agent stopping: nothing to answer.
        }
        catch (Exception e)
        {
            _log.MetricsRequestFailed(e);
        }
    }

    /// <summary>
    /// Closes gracefully after an answer that ends the connection: our side is shut, and what the client still sends
    /// (the rest of an oversized head, a body) is read and dropped for a moment — closing with unread data would reset
    /// the connection, and the client could lose the answer that says what was wrong.
    /// </summary>
    private static async Task LingerAsync(Socket client, CancellationToken stop)
    {
        try
        {
            client.Shutdown(SocketShutdown.Send);
            using var linger = CancellationTokenSource.CreateLinkedTokenSource(stop);
            linger.CancelAfter(TimeSpan.FromSeconds(1));
            var sink = new byte[4096];
            for (var total = 0; total < 65536;)
            {
                var n = await client.ReceiveAsync(sink, SocketFlags.None, linger.Token).ConfigureAwait(false);
                if (n == 0) return;
                total += n;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Where the head's blank line starts, or -1.</summary>
    private static int HeadEnd(ReadOnlySpan<byte> data) => data.IndexOf("\r\n\r\n"u8);

    /// <summary>Answers one request; false when the connection must close.</summary>
    private async Task<bool> AnswerAsync(NetworkStream stream, string head, CancellationToken stop)
    {
        var lines = head.Split("\r\n");
        var request = lines[0].Split(' ');
        if (request.Length != 3 || request[0].Length == 0 || !request[1].StartsWith('/') || request[2] is not ("HTTP/1.1" or "HTTP/1.0"))
        {
            await RespondAsync(stream, 400, "Bad Request", "not an HTTP/1.x request\n", close: true, head: false, stop).ConfigureAwait(false);
            return false;
        }
        var (method, target, version) = (request[0], request[1], request[2]);
        string? accept = null, encoding = null, connection = null;
        var body = false;
        foreach (var line in lines.AsSpan(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || line[..colon].Trim().Length != colon)
            {
                await RespondAsync(stream, 400, "Bad Request", "malformed header line\n", close: true, head: false, stop).ConfigureAwait(false);
                return false;
            }
            var value = line[(colon + 1)..].Trim();
            switch (line[..colon].ToUpperInvariant())
            {
                case "ACCEPT": accept = value; break;
                case "ACCEPT-ENCODING": encoding = value; break;
                case "CONNECTION": connection = value; break;
                case "CONTENT-LENGTH": body |= value != "0"; break;
                case "TRANSFER-ENCODING": body = true; break;
            }
        }
        if (body)
        {
            await RespondAsync(stream, 413, "Payload Too Large", "requests carry no body here\n", close: true, head: false, stop).ConfigureAwait(false);
            return false;
        }
        var close = version == "HTTP/1.0"
            ? connection?.Contains("keep-alive", StringComparison.OrdinalIgnoreCase) != true
            : connection?.Contains("close", StringComparison.OrdinalIgnoreCase) == true;
        var query = target.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? target : target[..query];
        if (path != "/metrics")
        {
            await RespondAsync(stream, 404, "Not Found", $"no such page: {Clip(path)} (metrics are at /metrics)\n", close, head: false, stop).ConfigureAwait(false);
            return !close;
        }
        var isHead = method == "HEAD";
        if (method != "GET" && !isHead)
        {
            await RespondAsync(stream, 405, "Method Not Allowed", "only GET /metrics is served\n", close, head: false, stop, "Allow: GET, HEAD\r\n").ConfigureAwait(false);
            return !close;
        }
        var openMetrics = accept?.Contains("application/openmetrics-text", StringComparison.OrdinalIgnoreCase) == true;
        var gzip = AcceptsGzip(encoding);
        using var exposition = new MemoryStream();
        if (gzip)
        {
            await using var zip = new GZipStream(exposition, CompressionLevel.Fastest, leaveOpen: true);
            await registry.CollectAndExportAsTextAsync(zip, openMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText, stop).ConfigureAwait(false);
        }
        else
        {
            await registry.CollectAndExportAsTextAsync(exposition, openMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText, stop).ConfigureAwait(false);
        }
        var headers = $"HTTP/1.1 200 OK\r\nContent-Type: {(openMetrics ? OpenMetricsType : TextType)}\r\nContent-Length: {exposition.Length}\r\nVary: Accept-Encoding\r\n"
            + (gzip ? "Content-Encoding: gzip\r\n" : "") + (close ? "Connection: close\r\n" : "") + "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(headers), stop).ConfigureAwait(false);
        if (!isHead) await stream.WriteAsync(exposition.GetBuffer().AsMemory(0, (int)exposition.Length), stop).ConfigureAwait(false);
        return !close;
    }

    /// <summary>True when Accept-Encoding lists gzip (or *) with a quality above zero.</summary>
    internal static bool AcceptsGzip(string? header)
    {
        if (header is null) return false;
        foreach (var item in header.Split(','))
        {
            var parts = item.Split(';');
            var name = parts[0].Trim();
            if (!name.Equals("gzip", StringComparison.OrdinalIgnoreCase) && name != "*") continue;
            var q = parts.Skip(1).Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("q=", StringComparison.OrdinalIgnoreCase));
            if (q is null || !double.TryParse(q[2..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var quality) || quality > 0) return true;
        }
        return false;
    }

    private static async Task RespondAsync(NetworkStream stream, int status, string reason, string text, bool close, bool head, CancellationToken stop, string extra = "")
    {
        var body = Encoding.UTF8.GetBytes(text);
        var headers = $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {body.Length}\r\n{extra}" + (close ? "Connection: close\r\n" : "") + "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(headers), stop).ConfigureAwait(false);
        if (!head) await stream.WriteAsync(body, stop).ConfigureAwait(false);
    }

    /// <summary>At most 80 characters of what a client sent, so a long path cannot make a long answer.</summary>
    private static string Clip(string s) => s.Length <= 80 ? s : s[..80] + "…";

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_listener is null) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        if (_accepting is not null) await _accepting.ConfigureAwait(false);
        Task[] open;
        lock (_connections) open = [.. _connections.Select(c => c.Task).OfType<Task>()];
        await Task.WhenAll(open).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _listener = null;
        _stop.Dispose();
    }
}

/// <summary>The metrics address could not be bound (taken, or not an address of this machine).</summary>
public sealed class ListenException(string message, Exception inner) : Exception(message, inner);
