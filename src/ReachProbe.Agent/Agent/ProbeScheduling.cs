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

/// <summary>The probes the scheduler runs, by job key.</summary>
public sealed class ProbeRegistry
{
    private readonly Dictionary<string, (ScheduledProbe Probe, ProbeRunner Runner)> _probes = [];

    internal void Add(ScheduledProbe p)
    {
        if (!_probes.TryAdd(p.Key, (p, new ProbeRunner(p.Timeout)))) throw new ArgumentException($"probe '{p.Key}' is scheduled twice");
    }

    internal (ScheduledProbe Probe, ProbeRunner Runner) Get(string key) => _probes[key];

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
        var (probe, runner) = registry.Get(context.JobDetail.Key.Name);
        var at = time.GetUtcNow();
        ProbeResult result;
        try
        {
            result = await runner.RunAsync(probe.Probe, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // shutting down: no result rather than a false timeout
        }
        sink.Record(probe, result, at);
    }
}

/// <summary>Wires the probe scheduler into a host (Quartz.NET, in-memory).</summary>
public static class ProbeSchedulingExtensions
{
    /// <summary>Job group of the probe jobs.</summary>
    public const string Group = "probes";

    /// <summary>
    /// Schedules each (target, probe) on its own interval, first firing at a random offset within one interval (jitter,
    /// so probes of many targets do not fire together). Missed fires (the host was suspended, the process paused) are
    /// skipped, not replayed: Quartz's "next with remaining count" misfire instruction, because a burst of catch-up
    /// probes would hide the stall and hammer the target. Register an <see cref="IProbeResultSink"/> as well.
    /// </summary>
    public static IServiceCollection AddProbeScheduler(this IServiceCollection services, IEnumerable<ScheduledProbe> probes, Random? jitter = null)
    {
        var registry = new ProbeRegistry();
        var list = probes.ToList();
        foreach (var p in list)
        {
            if (p.Interval < TimeSpan.FromMilliseconds(100) || p.Interval > TimeSpan.FromDays(1))
                throw new ArgumentOutOfRangeException(nameof(probes), $"probe '{p.Key}': interval must be 0.1 s – 1 day, not {p.Interval}");
            if (p.Timeout > p.Interval)
                throw new ArgumentOutOfRangeException(nameof(probes), $"probe '{p.Key}': timeout {p.Timeout} is longer than its interval {p.Interval}");
            registry.Add(p);
        }
        jitter ??= Random.Shared;
        services.AddSingleton(registry);
        services.TryAddSingleton(TimeProvider.System);
        services.AddQuartz(q =>
        {
            q.UseDefaultThreadPool(Math.Max(10, list.Count));
            var now = TimeProvider.System.GetUtcNow();
            foreach (var p in list)
            {
                var key = new JobKey(p.Key, Group);
                q.AddJob<ProbeJob>(j => j.WithIdentity(key).StoreDurably());
                var offset = TimeSpan.FromTicks((long)(jitter.NextDouble() * p.Interval.Ticks));
                q.AddTrigger(t => t
                    .ForJob(key)
                    .WithIdentity(p.Key, Group)
                    .StartAt(now + offset)
                    .WithSimpleSchedule(s => s.WithInterval(p.Interval).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount)));
            }
        });
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        return services;
    }
}
