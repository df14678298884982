using System.Net;
using DnsClient;
using DnsClient.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ReachProbe.Agent;

/// <summary>
/// Targets known by a host name (ps5.lan): resolved (A records, with DnsClient) once at start — a name that does not
/// resolve stops the agent with one line — and then again on each record's TTL, at most once per probe interval and at
/// least once an hour. An answer with another address moves the target there (<see cref="AgentService.MoveTo"/>): its
/// state and open incident carry on, its probes follow. A resolver that fails keeps the last address and is never the
/// target's fault: said once (and again when it answers), the target watched where it was.
/// </summary>
public sealed partial class HostResolver(AgentService agent, ILogger<HostResolver> log, TimeProvider time) : BackgroundService
{

    /// <summary>How long one lookup may take.</summary>
    public static readonly TimeSpan LookupTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The longest a name goes without being asked again, whatever its TTL.</summary>
    public static readonly TimeSpan MaxRecheck = TimeSpan.FromHours(1);

    /// <summary>Lookups in flight at once, at start and after: a venue's thousand names must not be a thousand queries at once to the resolver.</summary>
    public const int MaxInFlight = 32;

    // Never disposed: lookups still finishing as the host stops release it (its wait handle is never made).
    private readonly SemaphoreSlim _inFlight = new(MaxInFlight, MaxInFlight);

    /// <summary>How soon a name that failed is asked again (or its interval, when longer).</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>A lookup's outcome: the addresses (none on failure), the smallest TTL, and what went wrong.</summary>
    /// <param name="Addresses">The IPv4 addresses, sorted; for a name with none, its IPv6 ones.</param>
    /// <param name="Ttl">The records' smallest TTL.</param>
    /// <param name="Problem">Why there is no address (no such name, no answer from the server, no A or AAAA record), or null.</param>
    public sealed record Lookup(IReadOnlyList<IPAddress> Addresses, TimeSpan Ttl, string? Problem);

    /// <summary>
    /// Asks <paramref name="server"/> (null: the system's resolvers) for <paramref name="host"/>'s A and AAAA records: a
    /// dual-stack device is watched at one address of each family, an IPv6-only one at its IPv6 address. IPv4 addresses
    /// come first. Never throws but for cancellation.
    /// </summary>
    public static async Task<Lookup> ResolveAsync(string host, IPAddress? server, CancellationToken cancel)
    {
        var options = server is null ? new LookupClientOptions() : new LookupClientOptions(new NameServer(server));
        options.UseCache = false;
        options.Timeout = LookupTimeout;
        options.Retries = 1;
        options.ThrowDnsErrors = false;
        options.ContinueOnDnsError = false;
        string from;
        try
        {
            var client = new LookupClient(options);
            from = server?.ToString() ?? string.Join(", ", client.NameServers.Select(n => n.Address));
            var found = new List<AddressRecord>();
            foreach (var type in new[] { QueryType.A, QueryType.AAAA })
            {
                var answer = await client.QueryAsync(host, type, QueryClass.IN, cancel).ConfigureAwait(false);
                // A name that does not exist is said by the first answer; a server that fails AAAA only keeps the A records.
                if (answer.HasError)
                {
                    if (found.Count > 0) break;
                    return new Lookup([], TimeSpan.Zero, $"{answer.ErrorMessage} (from {from})");
                }
                found.AddRange(answer.Answers.OfType<AddressRecord>().Where(r => r is ARecord == (type == QueryType.A)));
            }
            if (found.Count > 0)
                return new Lookup(found.Select(r => r.Address).Distinct().OrderBy(Wire.Addresses.ToKey).ToList(), TimeSpan.FromSeconds(found.Min(r => r.TimeToLive)), null);
            return new Lookup([], TimeSpan.Zero, $"no address for it: no A or AAAA record (from {from})");
        }
        catch (DnsResponseException e)
        {
            return new Lookup([], TimeSpan.Zero, e.Code == DnsResponseCode.ConnectionTimeout
                ? $"no answer from {server?.ToString() ?? "the system's resolvers"} ({options.Retries + 1} tries, {LookupTimeout.TotalSeconds:0} s each)"
                : e.Message);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or InvalidOperationException or ArgumentException)
        {
            return new Lookup([], TimeSpan.Zero, e.Message);
        }
    }

    /// <summary>
    /// Resolves every target's host name at once (at start): the addresses each starts at (one per family, IPv4 first),
    /// by target name, and a line for each that does not resolve.
    /// </summary>
    public static async Task<(Dictionary<string, IPAddress[]> Addresses, List<string> Problems)> ResolveAllAsync(IEnumerable<TargetConfig> targets, IPAddress? server,
        CancellationToken cancel)
    {
        var named = targets.Where(t => t.Host is not null).ToList();
        using var gate = new SemaphoreSlim(MaxInFlight, MaxInFlight);
        async Task<Lookup> Bounded(string host)
        {
            await gate.WaitAsync(cancel).ConfigureAwait(false);
            try
            {
                return await ResolveAsync(host, server, cancel).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        }
        var lookups = await Task.WhenAll(named.Select(t => Bounded(t.Host!))).ConfigureAwait(false);
        var addresses = new Dictionary<string, IPAddress[]>();
        var problems = new List<string>();
        for (var i = 0; i < named.Count; i++)
        {
            if (lookups[i].Problem is { } p) problems.Add($"{named[i].Host}: does not resolve: {p}");
            else addresses[named[i].Name] = PerFamily(lookups[i].Addresses, []);
        }
        return (addresses, problems);
    }

    /// <summary>
    /// The address to watch a target at, from a lookup: the one it is at, while the name still resolves to it (a name
    /// with several addresses does not make it flit between them), else the first.
    /// </summary>
    public static IPAddress Pick(IReadOnlyList<IPAddress> addresses, IPAddress? current) =>
        current is not null && addresses.Contains(current) ? current : addresses[0];

    /// <summary>The address to watch in each family the lookup has (IPv4 first), each <see cref="Pick"/>ed against the one it is at in that family.</summary>
    public static IPAddress[] PerFamily(IReadOnlyList<IPAddress> addresses, IReadOnlyList<IPAddress> current) =>
        [.. addresses.GroupBy(a => a.AddressFamily).OrderBy(g => g.Key == System.Net.Sockets.AddressFamily.InterNetworkV6)
            .Select(g => Pick([.. g], current.FirstOrDefault(c => c.AddressFamily == g.Key)))];

    /// <summary>When to ask again after a lookup: its TTL, but not sooner than the target's interval nor later than an hour; a failure sooner.</summary>
    public static TimeSpan Recheck(Lookup lookup, TimeSpan interval)
    {
        var floor = interval > TimeSpan.FromSeconds(1) ? interval : TimeSpan.FromSeconds(1);
        if (lookup.Problem is not null) return floor > RetryAfter ? floor : RetryAfter;
        return lookup.Ttl < floor ? floor : lookup.Ttl > MaxRecheck ? MaxRecheck : lookup.Ttl;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset> _due = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _failing = new();

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var config = agent.Config;
            var now = time.GetUtcNow();
            var named = config.Targets.Where(t => t.Host is not null).ToList();
            foreach (var gone in _due.Keys.Except(named.Select(t => t.Name)).ToList())
            {
                _due.TryRemove(gone, out _);
                _failing.TryRemove(gone, out _);
            }
            foreach (var t in named)
            {
                if (_due.TryGetValue(t.Name, out var due) && due > now) continue;
                _due[t.Name] = DateTimeOffset.MaxValue; // in flight
                _ = Task.Run(() => CheckAsync(t, config.Resolver, stoppingToken), CancellationToken.None);
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task CheckAsync(TargetConfig t, IPAddress? server, CancellationToken stop)
    {
        Lookup lookup;
        try
        {
            await _inFlight.WaitAsync(stop).ConfigureAwait(false);
            try
            {
                lookup = await ResolveAsync(t.Host!, server, stop).ConfigureAwait(false);
            }
            finally
            {
                _inFlight.Release();
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }
        var now = agent.Everywhere(t).Select(c => c.Ip!).ToList();
        var current = now.FirstOrDefault();
        if (!_due.ContainsKey(t.Name)) return; // removed by a reload meanwhile
        _due[t.Name] = time.GetUtcNow() + Recheck(lookup, t.Interval);
        if (lookup.Problem is { } problem)
        {
            if (_failing.TryAdd(t.Name, true))
                log.ResolveFailed(t.Who, problem, current is null ? "it is not watched until it does" : $"still watched at {current}");
            return;
        }
        if (_failing.TryRemove(t.Name, out _)) log.Resolved(t.Who);
        // Each family moves on its own; a family the name no longer has keeps its last address (as a failing resolver does).
        foreach (var next in PerFamily(lookup.Addresses, now))
            if (!now.Contains(next)) agent.MoveTo(t.Name, next);
    }
}
