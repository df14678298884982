using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Quartz;

namespace ReachProbe.Probes;

/// <summary>One (target, probe) pair run on its own interval.</summary>
/// <param name="Target">Target label.</param>
/// <param name="Probe">The probe.</param>
/// <param name="Interval">Time between attempts (0.1 s – 1 day).</param>
/// <param name="Timeout">Per-attempt timeout (at most the interval).</param>
public sealed record ScheduledProbe(string Target, IProbe Probe, TimeSpan Interval, TimeSpan Timeout)
{
    /// <summary>Unique job key: "target/probe".</summary>
    public string Key => $"{Target}/{Probe.Name}";
}

/// <summary>Receives every probe result (the live agent feeds them to metrics and the verdict engine).</summary>
public interface IProbeResultSink
{
    /// <summary>Takes one result; <paramref name="at"/> is when the attempt started.</summary>
    void Record(ScheduledProbe probe, ProbeResult result, DateTimeOffset at);
}

/// <summary>The probes the scheduler runs, by job key; changed while running when the configuration is reloaded.</summary>
public sealed class ProbeRegistry(TimeProvider? time = null)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (ScheduledProbe Probe, ProbeRunner Runner)> _probes = [];

    internal void Add(ScheduledProbe p)
    {
        if (!_probes.TryAdd(p.Key, (p, new ProbeRunner(p.Timeout, time)))) throw new ArgumentException($"probe '{p.Key}' is scheduled twice");
    }

    internal ScheduledProbe? Remove(string key) => _probes.TryRemove(key, out var v) ? v.Probe : null;

    internal bool TryGet(string key, out (ScheduledProbe Probe, ProbeRunner Runner) entry) => _probes.TryGetValue(key, out entry);

    /// <summary>Every scheduled probe.</summary>
    public IEnumerable<ScheduledProbe> All => _probes.Values.Select(v => v.Probe);
}

/// <summary>
/// Runs one scheduled probe. <see cref="DisallowConcurrentExecutionAttribute"/>: an attempt still waiting for its
/// timeout is never overlapped by the next one of the same (target, probe).
/// </summary>
[DisallowConcurrentExecution]
public sealed class ProbeJob(ProbeRegistry registry, IProbeResultSink sink, TimeProvider time) : IJob
{
    /// <inheritdoc/>
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        if (!registry.TryGet(context.JobDetail.Key.Name, out var entry)) return; // removed by a reload while this fire was due
        var (probe, runner) = entry;
        var at = time.GetUtcNow();
        // How late this fire is against its schedule, and how many rounds were skipped before it (a paused process, a
        // starved scheduler): Quartz skips missed fires rather than queueing them.
        var lag = context.ScheduledFireTimeUtc is { } due ? at - due : TimeSpan.Zero;
        var missed = context.PreviousFireTimeUtc is { } previous && context.ScheduledFireTimeUtc is { } scheduled
            ? Math.Max(0, (int)Math.Round((scheduled - previous) / probe.Interval) - 1) : 0;
        ProbeResult result;
        try
        {
            result = await runner.RunAsync(probe.Probe, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // shutting down: no result rather than a false timeout
        }
        sink.Record(probe, result with { ScheduleLag = lag < TimeSpan.Zero ? TimeSpan.Zero : lag, MissedRounds = missed }, at);
    }
}

/// <summary>Wires the probe scheduler into a host (Quartz.NET, in-memory).</summary>
public static class ProbeSchedulingExtensions
{
    /// <summary>Job group of the probe jobs.</summary>
    public const string Group = "probes";

    /// <summary>Probes that may be in flight at once (unless the configuration at start has more).</summary>
    public const int MaxInFlight = 16_384;

    /// <summary>How early a fire may start so that fires due close together are taken in one batch.</summary>
    public static readonly TimeSpan FireAhead = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Schedules each (target, probe) on its own interval, first firing at a random offset within one interval (jitter,
    /// so probes of many targets do not fire together). Missed fires (the host was suspended, the process paused) are
    /// skipped, not replayed: Quartz's "next with remaining count" misfire instruction, because a burst of catch-up
    /// probes would hide the stall and hammer the target. Register an <see cref="IProbeResultSink"/> as well.
    /// </summary>
    public static IServiceCollection AddProbeScheduler(this IServiceCollection services, IEnumerable<ScheduledProbe> probes, TimeProvider? time = null, Random? jitter = null)
    {
        time ??= TimeProvider.System;
        var registry = new ProbeRegistry(time);
        var list = probes.ToList();
        foreach (var p in list)
        {
            Check(p);
            registry.Add(p);
        }
        services.AddSingleton(registry);
        services.TryAddSingleton(time);
        // Quartz's default pool runs jobs as tasks on .NET's pool; its size only caps how many probes may be in flight
        // at once. Sized for the configuration at start it left a reload from a few targets to many with a handful of
        // slots (probes queued behind each other, rounds missed), so it is generous from the start: a slot costs nothing.
        var threads = Math.Max(MaxInFlight, list.Count);
        services.AddQuartz(q =>
        {
            q.UseDefaultThreadPool(threads);
            // A thousand targets probed every second are 2,000 fires a second. Fetched one at a time (Quartz's default),
            // each fire is a wake-up and a lock of the job store; fetched in batches of the fires due within the same
            // few milliseconds, they are a fraction of that. A fire can then start up to FireAhead early (never late).
            q.ConfigureScheduler(o =>
            {
                o.MaxBatchSize = Math.Min(64, threads);
                o.BatchTriggerAcquisitionFireAheadTimeWindow = FireAhead;
            });
        });
        // Jobs are scheduled when the host starts, the same way a reload adds them; the same service starts and stops
        // the scheduler (in place of Quartz's hosted service, whose stop waits out the scheduler's shutdown).
        services.AddHostedService(sp => new ProbeSchedulerService(sp.GetRequiredService<ISchedulerFactory>(), list, time, jitter ?? Random.Shared));
        return services;
    }

    /// <summary>
    /// Schedules the probes and starts the scheduler; on stop, puts it in standby at once (no trigger fires after that,
    /// so no job is made from a disposed container) and gives its shutdown at most a second: probes in flight are
    /// cancelled, never waited for.
    /// </summary>
    private sealed class ProbeSchedulerService(ISchedulerFactory schedulers, List<ScheduledProbe> probes, TimeProvider time, Random jitter)
        : Microsoft.Extensions.Hosting.IHostedService
    {
        private IScheduler? _scheduler;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            _scheduler = await schedulers.GetScheduler(cancellationToken).ConfigureAwait(false);
            await ScheduleAsync(_scheduler, null, probes, time, cancellationToken, jitter).ConfigureAwait(false);
            await _scheduler.Start(cancellationToken).ConfigureAwait(false);
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            if (_scheduler is null) return;
            await _scheduler.Standby(cancellationToken).ConfigureAwait(false);
            var shutdown = _scheduler.Shutdown(waitForJobsToComplete: false, CancellationToken.None);
            await Task.WhenAny(shutdown.AsTask(), Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>Adds probes to a running scheduler (a reloaded configuration), each on its own jittered trigger.</summary>
    /// <param name="scheduler">The scheduler.</param>
    /// <param name="registry">Where the job finds its probe; null when the probes are in it already.</param>
    /// <param name="probes">The probes.</param>
    /// <param name="cancel">Cancellation.</param>
    /// <param name="jitter">Spreads the first fires.</param>
    /// <param name="time">The clock of the triggers.</param>
    public static async Task ScheduleAsync(IScheduler scheduler, ProbeRegistry? registry, IEnumerable<ScheduledProbe> probes, TimeProvider time, CancellationToken cancel,
        Random? jitter = null)
    {
        jitter ??= Random.Shared;
        var now = time.GetUtcNow();
        var list = probes.ToList();
        var offsets = Offsets(list, jitter);
        for (var i = 0; i < list.Count; i++)
        {
            var p = list[i];
            Check(p);
            registry?.Add(p);
            var key = new JobKey(p.Key, Group);
            var job = JobBuilder.Create<ProbeJob>().WithIdentity(key).Build();
            var trigger = TriggerBuilder.Create(time)
                .ForJob(key)
                .WithIdentity(p.Key, Group)
                .StartAt(now + offsets[i])
                .WithSimpleSchedule(s => s.WithInterval(p.Interval).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
                .Build();
            await scheduler.ScheduleJob(job, trigger, default, cancel).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// When each probe first fires, after now: the probes of one interval spread evenly across it (the i-th of n at
    /// i/n of the interval, from a random phase), so a thousand targets probed every second send ten every 10 ms, not
    /// a thousand at once. Probes of the same target are placed apart, not together.
    /// </summary>
    public static TimeSpan[] Offsets(IReadOnlyList<ScheduledProbe> probes, Random jitter)
    {
        var offsets = new TimeSpan[probes.Count];
        foreach (var group in Enumerable.Range(0, probes.Count).GroupBy(i => probes[i].Interval))
        {
            var members = group.OrderBy(i => probes[i].Probe.Name, StringComparer.Ordinal).ThenBy(i => probes[i].Target, StringComparer.Ordinal).ToList();
            var interval = group.Key.Ticks;
            var phase = jitter.NextDouble();
            for (var k = 0; k < members.Count; k++)
                offsets[members[k]] = TimeSpan.FromTicks((long)((phase + (double)k / members.Count) % 1.0 * interval));
        }
        return offsets;
    }

    /// <summary>Removes probes from a running scheduler; returns them (to dispose once their last attempt is over).</summary>
    public static async Task<List<ScheduledProbe>> UnscheduleAsync(IScheduler scheduler, ProbeRegistry registry, IEnumerable<string> keys, CancellationToken cancel)
    {
        var removed = new List<ScheduledProbe>();
        foreach (var key in keys)
        {
            await scheduler.DeleteJob(new JobKey(key, Group), cancel).ConfigureAwait(false);
            if (registry.Remove(key) is { } p) removed.Add(p);
        }
        return removed;
    }

    private static void Check(ScheduledProbe p)
    {
        if (!ReachProbe.Agent.AgentConfig.IntervalSeconds.Contains(p.Interval.TotalSeconds))
            throw new ArgumentOutOfRangeException(nameof(p), $"probe '{p.Key}': interval must be {ReachProbe.Agent.AgentConfig.IntervalSeconds.Text} s, not {p.Interval}");
        if (p.Timeout > p.Interval)
            throw new ArgumentOutOfRangeException(nameof(p), $"probe '{p.Key}': timeout {p.Timeout} is longer than its interval {p.Interval}");
    }
}
