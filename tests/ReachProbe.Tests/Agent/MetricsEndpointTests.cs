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
}
