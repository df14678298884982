using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Prometheus;

namespace ReachProbe.Agent;

/// <summary>
/// Serves /metrics over a minimal HTTP/1.x server of its own. prometheus-net's MetricServer sits on the managed
/// HttpListener, which on Linux can crash the process when a scrape arrives while it is still starting
/// (ArgumentNullException in HttpEndPointListener.ProcessAccept, seen in our lab tests); a scraper that polls from the
/// first second must never take the agent down. Requests are bounded (8 KiB of headers, 5 s to send them); anything but
/// GET /metrics gets a clear 4xx, never an exception.
/// </summary>
public sealed class MetricsEndpoint(IPEndPoint listen, CollectorRegistry registry) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private TcpListener? _listener;
    private Task? _loop;

    /// <summary>The bound address (the port is chosen by the system when 0 was asked).</summary>
    public IPEndPoint? LocalEndpoint => _listener?.LocalEndpoint as IPEndPoint;

    /// <summary>Binds the address; throws <see cref="SocketException"/> when it is taken.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener = new TcpListener(listen);
        _listener.Start(64);
        _loop = Task.Run(AcceptLoop, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener!.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested) return;
                continue;
            }
            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(TcpClient client)
    {
        using var _ = client;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            var stream = client.GetStream();
            var request = await ReadHead(stream, timeout.Token).ConfigureAwait(false);
            if (request is null)
            {
                await Respond(stream, "400 Bad Request", "text/plain", "bad request: no complete HTTP request head within 5 s and 8 KiB\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
                return;
            }
            var parts = request.Split(' ');
            if (parts.Length < 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
            {
                await Respond(stream, "400 Bad Request", "text/plain", "bad request: expected 'GET /metrics HTTP/1.1'\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
                return;
            }
            if (parts[0] is not ("GET" or "HEAD"))
            {
                await Respond(stream, "405 Method Not Allowed", "text/plain", "only GET /metrics is served\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
                return;
            }
            var path = parts[1].Split('?')[0];
            if (path != "/metrics")
            {
                await Respond(stream, "404 Not Found", "text/plain", Encoding.UTF8.GetBytes($"no such page: {path} (metrics are at /metrics)\n"), timeout.Token).ConfigureAwait(false);
                return;
            }
            using var body = new MemoryStream();
            await registry.CollectAndExportAsTextAsync(body, timeout.Token).ConfigureAwait(false);
            await Respond(stream, "200 OK", "text/plain; version=0.0.4; charset=utf-8", parts[0] == "HEAD" ? [] : body.ToArray(), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The scraper went away or was too slow: nothing to answer.
        }
    }

    private static async Task<string?> ReadHead(NetworkStream stream, CancellationToken cancel)
    {
        var buffer = new byte[8192];
        var length = 0;
        while (length < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(length), cancel).ConfigureAwait(false);
            if (n == 0) return null;
            length += n;
            var text = Encoding.ASCII.GetString(buffer, 0, length);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0) end = text.IndexOf("\n\n", StringComparison.Ordinal);
            if (end >= 0) return text[..text.IndexOf('\n')].TrimEnd('\r');
        }
        return null;
    }

    private static async Task Respond(NetworkStream stream, string status, string type, byte[] body, CancellationToken cancel)
    {
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Type: {type}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(head, cancel).ConfigureAwait(false);
        if (body.Length > 0) await stream.WriteAsync(body, cancel).ConfigureAwait(false);
        // Close gently: a client still sending (an oversized request) would otherwise get a reset instead of the answer.
        stream.Socket.Shutdown(SocketShutdown.Send);
        using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        drain.CancelAfter(TimeSpan.FromMilliseconds(500));
        var sink = new byte[4096];
        try
        {
            for (var total = 0; total < 65536;)
            {
                var n = await stream.ReadAsync(sink, drain.Token).ConfigureAwait(false);
                if (n == 0) break;
                total += n;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stop.Cancel();
        _listener?.Stop();
        if (_loop is not null) await _loop.ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _listener?.Dispose();
        _stop.Dispose();
    }
}
