using System.Net;
using DnsClient;

namespace ReachProbe.Probes;

/// <summary>
/// A DNS query to a server: the monitor's own resolver (usually the LAN router the console also uses), or the target
/// itself. NXDOMAIN, REFUSED and SERVFAIL are answers with their rcode, not network failures; no answer is a timeout,
/// which for a resolver means the resolver, not the target, has a problem.
/// </summary>
public sealed class DnsProbe : IProbe
{
    private readonly TimeProvider _time;
    private readonly ProbeLimiter _limiter;

    private readonly LookupClient _client;
    private readonly string _query;
    private readonly QueryType _type;

    /// <summary>Creates the probe.</summary>
    /// <param name="name">Probe name, e.g. "dns" or "dns@target".</param>
    /// <param name="server">The server asked.</param>
    /// <param name="query">The name asked for.</param>
    /// <param name="type">The record type.</param>
    /// <param name="time">The clock that times attempts.</param>
    /// <param name="limiter">Bounds the TCP and DNS probes in flight (default: the shared one).</param>
    public DnsProbe(string name, IPAddress server, string query, QueryType type = QueryType.A, TimeProvider? time = null, ProbeLimiter? limiter = null)
    {
        Name = name;
        Server = server;
        _time = time ?? TimeProvider.System;
        _limiter = limiter ?? ProbeLimiter.Shared;
        _query = query;
        _type = type;
        // One attempt, no cache, no TCP fallback: the runner's timeout governs, and loss stays visible.
        _client = new LookupClient(new LookupClientOptions(new NameServer(server))
        {
            UseCache = false,
            Retries = 0,
            Timeout = TimeSpan.FromSeconds(60),
            ThrowDnsErrors = false,
            UseTcpFallback = false,
            ContinueOnDnsError = false,
            ContinueOnEmptyResponse = false,
        });
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The server asked.</summary>
    public IPAddress Server { get; }

    /// <summary>The monitor's own resolver (first nameserver of /etc/resolv.conf), or null.</summary>
    public static IPAddress? SystemResolver()
    {
        try
        {
            return NameServer.ResolveNameServers(skipIPv6SiteLocal: true, fallbackToGooglePublicDns: false)
                .Select(s => IPAddress.TryParse(s.Address, out var a) ? a : null)
                .FirstOrDefault(a => a is { AddressFamily: System.Net.Sockets.AddressFamily.InterNetwork });
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    public Task<ProbeResult> ProbeAsync(CancellationToken cancellation) => _limiter.RunAsync(Name, QueryAsync, cancellation);

    private async Task<ProbeResult> QueryAsync(CancellationToken cancellation)
    {
        var started = _time.GetTimestamp();
        try
        {
            var response = await _client.QueryAsync(_query, _type, QueryClass.IN, cancellation).ConfigureAwait(false);
            var rcode = response.Header.ResponseCode;
            var name = RcodeName(rcode);
            return new ProbeResult(Name, ProbeStatus.Answered, _time.GetElapsedTime(started),
                rcode == DnsHeaderResponseCode.NoError ? $"NOERROR, {response.Answers.Count} answer(s)" : name)
            { DnsRcode = name };
        }
        catch (DnsResponseException e) when (e.Code is DnsResponseCode.ConnectionTimeout)
        {
            return new ProbeResult(Name, ProbeStatus.Timeout, _time.GetElapsedTime(started), $"no answer from {Server}");
        }
        catch (DnsResponseException e)
        {
            return new ProbeResult(Name, ProbeStatus.Error, _time.GetElapsedTime(started), $"{Server}: {e.DnsError}");
        }
    }

    private static string RcodeName(DnsHeaderResponseCode code) => code switch
    {
        DnsHeaderResponseCode.NoError => "NOERROR",
        DnsHeaderResponseCode.FormatError => "FORMERR",
        DnsHeaderResponseCode.ServerFailure => "SERVFAIL",
        DnsHeaderResponseCode.NotExistentDomain => "NXDOMAIN",
        DnsHeaderResponseCode.NotImplemented => "NOTIMP",
        DnsHeaderResponseCode.Refused => "REFUSED",
        _ => $"RCODE{(int)code}",
    };

    /// <inheritdoc/>
    public void Dispose() { }
}
