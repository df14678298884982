using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace ReachProbe.Agent;

/// <summary>
/// Serves /metrics with Kestrel through prometheus-net's <c>MapMetrics</c> (text format, or OpenMetrics when the scraper
/// asks for it). Limits are explicit so a slow or hostile client cannot hold the agent: <see cref="MaxConnections"/>
/// connections, 8 KiB of request headers received within 5 s, no request body. Anything but GET/HEAD /metrics gets a
/// clear 4xx in plain text. A second, private web host keeps Kestrel's own services out of the agent's container.
/// </summary>
public sealed class MetricsEndpoint(IPEndPoint listen, CollectorRegistry registry, ILoggerFactory? logs = null) : IHostedService, IAsyncDisposable
{
    /// <summary>Concurrent connections served; more wait in the kernel's backlog.</summary>
    public const int MaxConnections = 64;

    private WebApplication? _app;

    /// <summary>The bound address (the port is chosen by the system when 0 was asked).</summary>
    public IPEndPoint? LocalEndpoint { get; private set; }

    /// <summary>Binds the address and starts serving; throws <see cref="ListenException"/> when it cannot bind.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "reachprobe-metrics" });
        // The agent's host owns the process's signals; a second console lifetime would answer SIGTERM on its own.
        builder.Services.AddSingleton<IHostLifetime, NoSignals>();
        builder.Logging.ClearProviders();
        if (logs is not null) builder.Services.AddSingleton(logs);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxConcurrentConnections = MaxConnections;
            k.Limits.MaxConcurrentUpgradedConnections = 0;
            k.Limits.MaxRequestHeadersTotalSize = 8192;
            k.Limits.MaxRequestLineSize = 8192;
            k.Limits.MaxRequestHeaderCount = 64;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(5);
            k.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(30);
            k.Limits.MaxRequestBodySize = 0;
            k.Listen(listen);
        });
        // Prometheus asks for gzip: a thousand targets' exposition (about 1.3 MB of text) crosses the wire in about a tenth.
        builder.Services.AddResponseCompression(o => o.MimeTypes = ["text/plain", "application/openmetrics-text"]);
        var app = builder.Build();
        app.UseResponseCompression();
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? "";
            if (path != "/metrics")
            {
                await Plain(context, StatusCodes.Status404NotFound, $"no such page: {Clip(path)} (metrics are at /metrics)\n").ConfigureAwait(false);
                return;
            }
            if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
            {
                context.Response.Headers.Allow = "GET, HEAD";
                await Plain(context, StatusCodes.Status405MethodNotAllowed, "only GET /metrics is served\n").ConfigureAwait(false);
                return;
            }
            await next(context).ConfigureAwait(false);
        });
        app.MapMetrics(s => s.Registry = registry, "/metrics");
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new ListenException($"cannot serve metrics on {listen}: {(e.InnerException ?? e).Message}", e);
        }
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        LocalEndpoint = address is not null && Uri.TryCreate(address, UriKind.Absolute, out var uri) ? new IPEndPoint(listen.Address, uri.Port) : listen;
    }

    private static Task Plain(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        var body = System.Text.Encoding.UTF8.GetBytes(text);
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body).AsTask();
    }

    /// <summary>At most 80 characters of what a client sent, so a long path cannot make a long answer.</summary>
    private static string Clip(string s) => s.Length <= 80 ? s : s[..80] + "…";

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null) await _app.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync().ConfigureAwait(false);
        _app = null;
    }
}

/// <summary>A lifetime that leaves SIGTERM and Ctrl+C to the agent's own host.</summary>
internal sealed class NoSignals : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The metrics address could not be bound (taken, or not an address of this machine).</summary>
public sealed class ListenException(string message, Exception inner) : Exception(message, inner);
