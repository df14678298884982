using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;
using ReachProbe.Probes;

namespace ReachProbe.Agent;

/// <summary>
/// What a reloaded configuration changes. A target is the same target while its name, address and MAC stay; it then
/// keeps its state (verdict, open incident, learned MAC) and only its probes, interval, timeout or firmware label are
/// replaced. A target whose name, address or MAC changed is removed and added anew.
/// </summary>
public sealed record ConfigChange(
    IReadOnlyList<TargetConfig> Added,
    IReadOnlyList<TargetConfig> Removed,
    IReadOnlyList<TargetConfig> Changed,
    IReadOnlyList<string> NeedRestart)
{
    /// <summary>Nothing to do.</summary>
    public bool IsEmpty => Added.Count == 0 && Removed.Count == 0 && Changed.Count == 0 && NeedRestart.Count == 0;

    /// <summary>The change from <paramref name="current"/> to <paramref name="next"/>.</summary>
    public static ConfigChange Between(AgentConfig current, AgentConfig next)
    {
        // A target moved to another interface is another loop's: removed there, added here.
        static (string, System.Net.IPAddress?, string?, string?, string?) Identity(TargetConfig t) => (t.Name, t.Ip, t.Mac, t.Host, t.Interface);
        var before = current.Targets.ToDictionary(Identity);
        var after = next.Targets.ToDictionary(Identity);
        var added = next.Targets.Where(t => !before.ContainsKey(Identity(t))).ToList();
        var removed = current.Targets.Where(t => !after.ContainsKey(Identity(t))).ToList();
        var changed = next.Targets.Where(t => before.TryGetValue(Identity(t), out var old) && !Same(old, t)).ToList();
        var restart = RestartOnly.Where(r => !r.Same(current, next)).Select(r => r.Name).ToList();
        return new ConfigChange(added, removed, changed, restart);
    }

    /// <summary>
    /// <paramref name="next"/> with every setting that takes effect only at a restart as <paramref name="running"/> has it,
    /// so that the configuration in force says what the agent does (and the next reload names them again).
    /// </summary>
    public static AgentConfig KeepRestartOnly(AgentConfig next, AgentConfig running) =>
        RestartOnly.Aggregate(next, (c, r) => r.Keep(c, running));

    // The settings that a reload cannot change, each named once: the warning and what is kept both read this list.
    private static readonly (string Name, Func<AgentConfig, AgentConfig, bool> Same, Func<AgentConfig, AgentConfig, AgentConfig> Keep)[] RestartOnly =
    [
        ("listen", (a, b) => Equals(a.Listen, b.Listen), (c, r) => c with { Listen = r.Listen }),
        ("interface", (a, b) => a.Interface == b.Interface && a.Interfaces.SequenceEqual(b.Interfaces), (c, r) => c with { Interface = r.Interface, Interfaces = r.Interfaces }),
        ("resolver", (a, b) => Equals(a.Resolver, b.Resolver), (c, r) => c with { Resolver = r.Resolver }),
        ("discover", (a, b) => a.Discover is null ? b.Discover is null : b.Discover is not null && a.Discover.Kinds.SequenceEqual(b.Discover.Kinds)
            && a.Discover with { Kinds = [] } == b.Discover with { Kinds = [] }, (c, r) => c with { Discover = r.Discover }),
        ("history", (a, b) => a.History == b.History, (c, r) => c with { History = r.History }),
        ("logLevel", (a, b) => a.LogLevel == b.LogLevel, (c, r) => c with { LogLevel = r.LogLevel }),
        ("logFormat", (a, b) => a.LogFormat == b.LogFormat, (c, r) => c with { LogFormat = r.LogFormat }),
        ("capture.view", (a, b) => a.View == b.View, (c, r) => c with { View = r.View }),
        ("thresholds", (a, b) => Verdict.VerdictSetting.All.All(v => v.Get(a.Thresholds) == v.Get(b.Thresholds)), (c, r) => c with { Thresholds = r.Thresholds }),
        // reachprobe_target_info's label names are fixed when it is made: labels stay as they were (new targets' labels
        // show only under names already in use).
        ("labels", SameLabels, KeepLabels),
    ];

    // Same labels on every target both name; a new target only uses label names already in use.
    private static bool SameLabels(AgentConfig a, AgentConfig b)
    {
        var before = a.Targets.ToDictionary(t => t.Name, t => t.Labels);
        var names = a.LabelNames.ToHashSet();
        return b.Targets.All(t => before.TryGetValue(t.Name, out var old)
            ? old.Count == t.Labels.Count && old.All(kv => t.Labels.TryGetValue(kv.Key, out var v) && v == kv.Value)
            : t.Labels.Keys.All(names.Contains));
    }

    private static AgentConfig KeepLabels(AgentConfig next, AgentConfig running)
    {
        var labels = running.Targets.ToDictionary(t => t.Name, t => t.Labels);
        return next with { Targets = next.Targets.Select(t => t with { Labels = labels.GetValueOrDefault(t.Name) ?? t.Labels }).ToList() };
    }

    private static bool Same(TargetConfig a, TargetConfig b) =>
        a.Interval == b.Interval && a.Timeout == b.Timeout && a.Firmware == b.Firmware && a.Probes.Select(p => p.Text).SequenceEqual(b.Probes.Select(p => p.Text));
}

/// <summary>
/// Re-reads the configuration on SIGHUP. A configuration with problems is refused, each problem logged, and the agent
/// goes on with the one it has. Otherwise added targets start, removed ones stop, changed ones get their new probes —
/// and targets that did not change keep their state. Settings that need a restart (listen, interface, history,
/// logLevel, capture.view, thresholds, labels) are named in a warning and left as they were.
/// </summary>
public sealed partial class ConfigReloader(Func<AgentConfig>? load, AgentConfig initial, AgentService agent, ProbeRegistry registry, ISchedulerFactory schedulers,
    ILogger<ConfigReloader> log, TimeProvider time, Hangups? hangups = null) : IHostedService, IDisposable
{
    private readonly SemaphoreSlim _one = new(1, 1);
    private AgentConfig _current = initial;
    private Hangups? _own;

    /// <summary>The configuration in force.</summary>
    public AgentConfig Current => _current;

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // The signal is caught by the caller's Hangups from its start (one that came early is handed over now), or by
        // one of our own from here on.
        (hangups ?? (_own = new Hangups())).Attach(() => _ = Task.Run(() => ReloadAsync(CancellationToken.None))); // never throws: every fault is logged
        agent.Moved += t => _ = Task.Run(() => Follow(t, CancellationToken.None));
        return Task.CompletedTask;
    }

    private readonly List<TargetConfig> _discovered = [];

    /// <summary>The targets discovery added, in the order added.</summary>
    public IReadOnlyList<TargetConfig> Discovered
    {
        get
        {
            lock (_discovered) return [.. _discovered];
        }
    }

    /// <summary>
    /// Discovery found devices to watch: each not yet a target (by MAC) is added — a name already in use gives way to its
    /// MAC — within the agent's <c>maxTargets</c>, its probes made at the address it was heard at. Taken in turn with
    /// reloads; returns the targets added. Never throws.
    /// </summary>
    public async Task<IReadOnlyList<TargetConfig>> AddDiscoveredAsync(IReadOnlyList<TargetConfig> found, CancellationToken cancel)
    {
        try
        {
            await _one.WaitAsync(cancel).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return [];
        }
        try
        {
            var macs = _current.Targets.Where(t => t.Mac is not null).Select(t => t.Mac!).ToHashSet(StringComparer.OrdinalIgnoreCase);
            // A device already watched by its address (configured, or where a target is now) is that target: not a second one.
            var watched = _current.Targets.SelectMany(t => new[] { t.Ip, agent.Current(t)?.Ip }).OfType<System.Net.IPAddress>().ToHashSet();
            var names = _current.Targets.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            var adding = new List<TargetConfig>();
            foreach (var t in found)
            {
                if (t.Mac is null || t.Ip is not null && watched.Contains(t.Ip) || !macs.Add(t.Mac) || _current.Targets.Count + adding.Count >= _current.MaxTargets) continue;
                var named = names.Add(t.Name) ? t : t with { Name = t.Mac };
                names.Add(named.Name);
                adding.Add(named);
            }
            if (adding.Count == 0) return [];
            var next = _current with { Targets = [.. _current.Targets, .. adding] };
            var probes = AgentHost.Probes(next with { Targets = adding }, out var problems);
            foreach (var p in problems) log.FollowProblem("discovery", p);
            var scheduler = await schedulers.GetScheduler(cancel).ConfigureAwait(false);
            agent.Reconfigure(next);
            await ProbeSchedulingExtensions.ScheduleAsync(scheduler, registry, probes, time, cancel).ConfigureAwait(false);
            _current = next;
            lock (_discovered) _discovered.AddRange(adding);
            return adding;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return [];
        }
        catch (Exception e)
        {
            log.ReloadFailed(e);
            return [];
        }
        finally
        {
            _one.Release();
        }
    }

    /// <summary>
    /// A target followed by its MAC is at a new address (<paramref name="moved"/>'s): its probes are made anew for it and
    /// take the old ones' places, so they follow it within one interval. Taken in turn with reloads; never throws.
    /// </summary>
    public async Task Follow(TargetConfig moved, CancellationToken cancel)
    {
        try
        {
            await _one.WaitAsync(cancel).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        try
        {
            // A target removed (or replaced) by a reload since: nothing to follow.
            if (_current.Targets.FirstOrDefault(t => t.Name == moved.Name) is not { } now || now.Mac != moved.Mac) return;
            var family = moved.Ip!.AddressFamily;
            // Its probes at its address in the other family stay; one asking a resolver (the same from either) is not made twice.
            var others = registry.All.Where(p => p.Target == moved.Name && p.Address?.AddressFamily != family).Select(p => p.Key).ToHashSet();
            var probes = AgentHost.Probes(_current with { Targets = [now.At(moved.Ip!)] }, out var problems);
            foreach (var p in probes.Where(p => others.Contains(p.Key))) p.Probe.Dispose();
            probes.RemoveAll(p => others.Contains(p.Key));
            foreach (var p in problems) log.FollowProblem(moved.Who, p);
            var scheduler = await schedulers.GetScheduler(cancel).ConfigureAwait(false);
            var old = ProbeSchedulingExtensions.Unschedule(registry, registry.All.Where(p => p.Target == moved.Name && !others.Contains(p.Key)).Select(p => p.Key).ToList());
            await ProbeSchedulingExtensions.ScheduleAsync(scheduler, registry, probes, time, cancel).ConfigureAwait(false);
            _ = DisposeLater(old);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            log.FollowFailed(moved.Who, e);
        }
        finally
        {
            _one.Release();
        }
    }

    /// <summary>
    /// Reloads now; false when the new configuration was refused or the reload failed. Never throws (a signal handler's
    /// task has no one to observe it): an unexpected fault is logged as such, and the configuration in force stays.
    /// </summary>
    public async Task<bool> ReloadAsync(CancellationToken cancel)
    {
        try
        {
            await _one.WaitAsync(cancel).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        try
        {
            return await ApplyAsync(cancel).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e)
        {
            log.ReloadFailed(e);
            return false;
        }
        finally
        {
            _one.Release();
        }
    }

    private async Task<bool> ApplyAsync(CancellationToken cancel)
    {
        {
            if (load is null)
            {
                log.NothingToReload();
                return true;
            }
            AgentConfig next;
            try
            {
                next = load();
            }
            catch (ConfigException e)
            {
                foreach (var p in e.Problems) log.ReloadProblem(p);
                log.ReloadRefused(e.Problems.Count);
                return false;
            }
            // What discovery added stays watched: the file never named it.
            var kept = _discovered.Where(d => !next.Targets.Any(t => t.Name == d.Name || t.Mac == d.Mac)).ToList();
            if (kept.Count > 0) next = next with { Targets = [.. next.Targets, .. kept] };
            if (next.Targets.Count == 0)
            {
                log.ReloadProblem("no targets");
                log.ReloadRefused(1);
                return false;
            }
            var change = ConfigChange.Between(_current, next);
            if (change.IsEmpty)
            {
                log.ReloadUnchanged();
                return true;
            }
            // Where each is now: a target followed by its MAC has its probes at the address it was last seen at, and none
            // while that is not known (made when it is: Follow).
            var starting = next.Targets.Where(t => change.Added.Contains(t) || change.Changed.Contains(t))
                .SelectMany(t => agent.Everywhere(t) is { Count: > 0 } all ? all : [agent.Current(t) ?? t]).ToList();
            var probes = AgentHost.Probes(next with { Targets = starting }, out var problems);
            if (problems.Count > 0)
            {
                foreach (var p in problems) log.ReloadProblem(p);
                foreach (var p in probes) p.Probe.Dispose();
                log.ReloadRefused(problems.Count);
                return false;
            }
            // Keep what needs a restart as it is, so the running agent and its configuration agree.
            next = ConfigChange.KeepRestartOnly(next, _current);
            var scheduler = await schedulers.GetScheduler(cancel).ConfigureAwait(false);
            var stopping = change.Removed.Concat(change.Changed).Select(t => t.Name).ToHashSet();
            var old = ProbeSchedulingExtensions.Unschedule(registry, registry.All.Where(p => stopping.Contains(p.Target)).Select(p => p.Key).ToList());
            agent.Reconfigure(next);
            await ProbeSchedulingExtensions.ScheduleAsync(scheduler, registry, probes, time, cancel).ConfigureAwait(false);
            _ = DisposeLater(old);
            _current = next;
            log.Reloaded(change.Added.Count, change.Removed.Count, change.Changed.Count, next.Targets.Count - change.Added.Count - change.Changed.Count);
            if (change.NeedRestart.Count > 0) log.ReloadNeedsRestart(string.Join(", ", change.NeedRestart));
            return true;
        }
    }

    /// <summary>A removed probe may still be in its last attempt: dispose of it once that attempt's timeout has passed.</summary>
    private async Task DisposeLater(List<ScheduledProbe> probes)
    {
        if (probes.Count == 0) return;
        await Task.Delay(probes.Max(p => p.Timeout) + TimeSpan.FromSeconds(1), time).ConfigureAwait(false);
        foreach (var p in probes) p.Probe.Dispose();
    }

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        hangups?.Detach();
        _own?.Dispose();
        _own = null;
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _own?.Dispose();
        _one.Dispose();
    }
}
