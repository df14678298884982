using System.Net;
using System.Net.Sockets;
using System.Text;
using Prometheus;
using ReachProbe.Agent;

namespace ReachProbe.Tests.Agent;

/// <summary>The /metrics server on loopback: the exposition, and a clear answer to anything else.</summary>
public sealed class MetricsEndpointTests : IAsyncLifetime
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private MetricsEndpoint? _endpoint;

    public async Task InitializeAsync()
    {
        var metrics = new AgentMetrics(_registry);
        metrics.SetState("console", ReachProbe.Verdict.TargetState.Deaf);
        _endpoint = new MetricsEndpoint(new IPEndPoint(IPAddress.Loopback, 0), _registry);
        await _endpoint.StartAsync(default);
    }

    public async Task DisposeAsync()
    {
        await _endpoint!.StopAsync(default);
        await _endpoint.DisposeAsync();
    }

    private string Send(string raw)
    {
        using var c = new TcpClient();
        c.Connect(_endpoint!.LocalEndpoint!);
        var s = c.GetStream();
        s.Write(Encoding.ASCII.GetBytes(raw));
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    [Fact]
    public void Get_Metrics_IsTheExposition()
    {
        var r = Send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", r);
        Assert.Contains("Content-Type: text/plain; version=0.0.4; charset=utf-8", r);
        Assert.Contains("reachprobe_target_state{target=\"console\",state=\"deaf\"} 1", r);
    }

    [Fact]
    public void Get_Metrics_OpenMetrics_WhenAskedFor()
    {
        var r = Send("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text; version=1.0.0\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", r);
        Assert.Contains("Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8", r);
        Assert.Contains("# EOF", r);
    }

    [Theory]
    [InlineData("GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 404 Not Found", "no such page: /other (metrics are at /metrics)")]
    [InlineData("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", "HTTP/1.1 405 Method Not Allowed", "only GET /metrics is served")]
    [InlineData("get /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 405 Method Not Allowed", "only GET /metrics is served")]
    public void Other_Requests_GetAClearAnswer(string raw, string status, string body)
    {
        var r = Send(raw);
        Assert.StartsWith(status + "\r\n", r);
        Assert.EndsWith(body + "\n", r);
    }

    [Fact]
    public void Get_Metrics_Gzipped_WhenAskedFor()
    {
        var r = Send("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", r);
        Assert.Contains("Content-Encoding: gzip", r);
    }

    [Fact]
    public void Garbage_IsABadRequest()
    {
        var r = Send("hello\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", r);
    }

    [Fact]
    public void Head_HasNoBody()
    {
        var r = Send("HEAD /metrics HTTP/1.0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", r);
        Assert.EndsWith("\r\n\r\n", r);
        Assert.DoesNotContain("Content-Length: 0\r\n", r);
    }

    [Fact]
    public void OversizedHead_IsRejected()
    {
        var r = Send("GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + new string('a', 9000) + "\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 431 Request Header Fields Too Large", r);
    }

    [Fact]
    public async Task TakenAddress_IsAListenExceptionNamingIt()
    {
        await using var second = new MetricsEndpoint(_endpoint!.LocalEndpoint!, _registry);
        var e = await Assert.ThrowsAsync<ListenException>(() => second.StartAsync(default));
        Assert.StartsWith($"cannot serve metrics on {_endpoint.LocalEndpoint}: ", e.Message);
    }

    [Fact]
    public void KeptAlive_PipelinedRequests_AreAnsweredInOrder()
    {
        using var c = new TcpClient();
        c.Connect(_endpoint!.LocalEndpoint!);
        var s = c.GetStream();
        s.Write(Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /nothing HTTP/1.1\r\nHost: x\r\n\r\nHEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        var r = Encoding.UTF8.GetString(ms.ToArray());
        var statuses = System.Text.RegularExpressions.Regex.Matches(r, "HTTP/1.1 (\\d+)").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["200", "404", "200"], statuses);
        Assert.EndsWith("Connection: close\r\n\r\n", r);
    }

    [Fact]
    public void Body_IsRefused()
    {
        var r = Send("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
        Assert.StartsWith("HTTP/1.1 413 Payload Too Large\r\n", r);
        Assert.EndsWith("requests carry no body here\n", r);
    }

    [Fact]
    public void HeaderWithSpaceBeforeColon_IsABadRequest()
    {
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", Send("GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n"));
    }

    [Fact]
    public async Task SlowHead_IsDropped_AndOthersAreServedMeanwhile()
    {
        await using var quick = new MetricsEndpoint(new IPEndPoint(IPAddress.Loopback, 0), _registry) { HeadTimeout = TimeSpan.FromMilliseconds(300) };
        await quick.StartAsync(default);
        using var slow = new TcpClient();
        slow.Connect(quick.LocalEndpoint!);
        var stream = slow.GetStream();
        stream.Write("GET /metrics HTTP/1.1\r\nHost"u8);
        // Another client is served while the slow one dawdles.
        using (var other = new TcpClient())
        {
            other.Connect(quick.LocalEndpoint!);
            other.GetStream().Write("GET /metrics HTTP/1.0\r\n\r\n"u8);
            using var ms = new MemoryStream();
            other.GetStream().CopyTo(ms);
            Assert.StartsWith("HTTP/1.1 200 OK", Encoding.ASCII.GetString(ms.ToArray()));
        }
        // The slow one is closed without an answer once its head is late (read returns 0 or the connection resets).
        stream.ReadTimeout = 10_000;
        var buffer = new byte[100];
        int n;
        try
        {
            n = stream.Read(buffer);
        }
        catch (IOException)
        {
            n = 0;
        }
        Assert.Equal(0, n);
    }

    /// <summary>A scrape as Prometheus makes it, on a connection of its own; null when not answered within a second.</summary>
    private static async Task<string?> ScrapeWithin1s(IPEndPoint where)
    {
        using var c = new TcpClient();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await c.ConnectAsync(where, limit.Token);
            var s = c.GetStream();
            await s.WriteAsync("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"u8.ToArray(), limit.Token);
            using var ms = new MemoryStream();
            await s.CopyToAsync(ms, limit.Token);
            return Encoding.ASCII.GetString(ms.ToArray());
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
        {
            return null;
        }
    }

    [Fact]
    public async Task IdleAndSlowConnections_CannotStarveScrapes()
    {
        // 100 connections that say nothing and 300 that send a request head a byte every 200 ms (slowloris): six times
        // the connection limit. Each real scrape must still be answered within a second.
        var holders = new List<TcpClient>();
        using var done = new CancellationTokenSource();
        var where = _endpoint!.LocalEndpoint!;
        try
        {
            for (var i = 0; i < 100; i++)
            {
                var c = new TcpClient();
                await c.ConnectAsync(where);
                holders.Add(c);
            }
            var slow = new List<NetworkStream>();
            for (var i = 0; i < 300; i++)
            {
                var c = new TcpClient();
                await c.ConnectAsync(where);
                holders.Add(c);
                slow.Add(c.GetStream());
            }
            var dribble = Task.Run(async () =>
            {
                var head = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "u8.ToArray();
                for (var k = 0; !done.IsCancellationRequested; k++)
                {
                    foreach (var s in slow)
                    {
                        try
                        {
                            s.WriteByte(head[Math.Min(k, head.Length - 1)]);
                        }
                        catch (IOException)
                        {
                            // closed by the server: as expected for some
                        }
                    }
                    await Task.Delay(200, CancellationToken.None);
                }
            });
            var answered = 0;
            for (var i = 0; i < 20; i++)
                if (await ScrapeWithin1s(where) is { } r && r.StartsWith("HTTP/1.1 200 OK", StringComparison.Ordinal)) answered++;
            await done.CancelAsync();
            await dribble;
            Assert.True(answered >= 19, $"{answered} of 20 scrapes answered within a second among 100 idle and 300 slow connections");
        }
        finally
        {
            foreach (var c in holders) c.Dispose();
        }
    }

    [Fact]
    public async Task AllSlotsAnswering_TheNextWaits_AndIsServedWhenOneFrees()
    {
        // Clients that ask and never read a large answer hold their slots while being answered; once they have had the
        // head time, the oldest gives way to a new connection.
        var big = Metrics.NewCustomRegistry();
        var gauge = Metrics.WithCustomRegistry(big).CreateGauge("reachprobe_test_padding", "padding", "n");
        for (var i = 0; i < 20_000; i++) gauge.WithLabels(i.ToString(System.Globalization.CultureInfo.InvariantCulture) + new string('x', 40)).Set(i);
        await using var endpoint = new MetricsEndpoint(new IPEndPoint(IPAddress.Loopback, 0), big) { HeadTimeout = TimeSpan.FromMilliseconds(500) };
        await endpoint.StartAsync(default);
        var readers = new List<Socket>();
        try
        {
            for (var i = 0; i < MetricsEndpoint.MaxConnections; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
                await s.ConnectAsync(endpoint.LocalEndpoint!);
                await s.SendAsync("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
                readers.Add(s);
            }
            await Task.Delay(200);
            var answered = await ScrapeWithin1sAfter(endpoint.LocalEndpoint!, TimeSpan.FromSeconds(3));
            Assert.NotNull(answered);
            Assert.StartsWith("HTTP/1.1 200 OK", answered);
        }
        finally
        {
            foreach (var s in readers) s.Dispose();
        }
    }

    private static async Task<string?> ScrapeWithin1sAfter(IPEndPoint where, TimeSpan wait)
    {
        using var c = new TcpClient();
        await c.ConnectAsync(where);
        var s = c.GetStream();
        await s.WriteAsync("GET /metrics HTTP/1.0\r\n\r\n"u8.ToArray());
        using var limit = new CancellationTokenSource(wait);
        using var ms = new MemoryStream();
        try
        {
            await s.CopyToAsync(ms, limit.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        return Encoding.ASCII.GetString(ms.ToArray());
    }

    [Theory]
    [InlineData("gzip", true)]
    [InlineData("deflate, gzip;q=0.5", true)]
    [InlineData("gzip;q=0", false)]
    [InlineData("*", true)]
    [InlineData("br", false)]
    [InlineData(null, false)]
    public void AcceptsGzip_ReadsTheHeadersQualities(string? header, bool gzip) => Assert.Equal(gzip, MetricsEndpoint.AcceptsGzip(header));
}
