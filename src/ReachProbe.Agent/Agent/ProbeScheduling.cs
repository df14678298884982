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

    /// <summary>What its answers prove about the target, from its row of the probe table (<see cref="ProbeType.All"/>).</summary>
    public AnswerProves Proves { get; init; } = AnswerProves.Receipt;

    /// <summary>The target's address it probes (null when not known): a result from an address the target has left is dropped.</summary>
    public System.Net.IPAddress? Address { get; init; }

    /// <summary>The probe <paramref name="spec"/> built for <paramref name="address"/>, with what its row says its answers prove.</summary>
    public static ScheduledProbe Of(string target, ProbeSpec spec, IProbe probe, System.Net.IPAddress address, TimeSpan interval, TimeSpan timeout) =>
        new(target, probe, interval, timeout) { Proves = spec.Type.Proves(probe, address), Address = address };
}

/// <summary>Receives every probe result (the live agent feeds them to metrics and the verdict engine).</summary>
public interface IProbeResultSink
{
    /// <summary>Takes one result; <paramref name="at"/> is when the attempt started.</summary>
    void Record(ScheduledProbe probe, ProbeResult result, DateTimeOffset at);
}

/// <summary>
/// The probes the scheduler runs, by key, each in one slot of its interval; changed while running when the
/// configuration is reloaded. An interval is cut into <see cref="SlotsPer"/> slots (10 ms each for 1 s, at most 100),
/// one Quartz trigger for each slot that holds a probe: a slot's fire starts the attempts of its members together. A thousand targets with two
/// probes every second are 100 fires a second, not 2,000 — each fire is a job made through DI, a lock of Quartz's
/// store and a thread-pool wake-up.
/// </summary>
public sealed class ProbeRegistry(TimeProvider? time = null)
{
    /// <summary>Slots of an interval: one per 10 ms of it, 1 to 100.</summary>
    public static int SlotsPer(TimeSpan interval) => (int)Math.Clamp(interval.Ticks / TimeSpan.FromMilliseconds(10).Ticks, 1, 100);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Member> _probes = [];
    private readonly Dictionary<TimeSpan, Member[][]> _slots = [];
    private readonly HashSet<(TimeSpan, int)> _triggered = [];
    private readonly Dictionary<TimeSpan, DateTimeOffset> _origins = [];
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>
    /// How long an attempt may wait for its answer: its timeout, but over before the probe's next fire (which Quartz
    /// may start <see cref="ProbeSchedulingExtensions.FireAhead"/> early, and an expiry may come a sweep late). With
    /// the timeout equal to the interval, as by default, every other attempt found the last one still out and was
    /// skipped — half the probes, and a slower verdict.
    /// </summary>
    public static TimeSpan AttemptTimeout(ScheduledProbe p)
    {
        var margin = TimeSpan.FromTicks(Math.Min((ProbeSchedulingExtensions.FireAhead + 2 * DeadlineSweep.Period).Ticks, p.Interval.Ticks / 4));
        return p.Timeout < p.Interval - margin ? p.Timeout : p.Interval - margin;
    }

    /// <summary>One scheduled probe: its runner, its slot, and whether an attempt is still out.</summary>
    internal sealed class Member(ScheduledProbe probe, ProbeRunner runner)
    {
        public ScheduledProbe Probe { get; } = probe;
        public ProbeRunner Runner { get; } = runner;
        public TimeSpan Timeout => Runner.Timeout;
        public int Slot { get; set; }
        public int InFlight;
        public int Skipped;
    }

    internal TimeProvider Time { get; } = time ?? TimeProvider.System;

    /// <summary>Cancelled when the scheduler stops: results after that are dropped, never recorded as timeouts.</summary>
    internal CancellationToken Stopping => _stopping.Token;

    internal void Stop() => _stopping.Cancel();

    /// <summary>Adds a probe to slot <paramref name="slot"/> of its interval, or to the least used one; returns the slot.</summary>
    internal int Add(ScheduledProbe p, int? slot = null)
    {
        var member = new Member(p, new ProbeRunner(AttemptTimeout(p), Time));
        if (!_probes.TryAdd(p.Key, member)) throw new ArgumentException($"probe '{p.Key}' is scheduled twice");
        lock (_gate)
        {
            if (!_slots.TryGetValue(p.Interval, out var slots)) _slots[p.Interval] = slots = Enumerable.Range(0, SlotsPer(p.Interval)).Select(_ => Array.Empty<Member>()).ToArray();
            var i = slot ?? Enumerable.Range(0, slots.Length).MinBy(k => slots[k].Length);
            member.Slot = i;
            slots[i] = [.. slots[i], member]; // copied on write: a fire reads its slot without the lock
            return i;
        }
    }

    internal ScheduledProbe? Remove(string key)
    {
        if (!_probes.TryRemove(key, out var member)) return null;
        lock (_gate)
        {
            var slots = _slots[member.Probe.Interval];
            slots[member.Slot] = slots[member.Slot].Where(m => m != member).ToArray();
        }
        return member.Probe;
    }

    /// <summary>The members of one slot of an interval (empty when there are none).</summary>
    internal Member[] Slot(TimeSpan interval, int slot)
    {
        lock (_gate) return _slots.TryGetValue(interval, out var slots) && slot < slots.Length ? slots[slot] : [];
    }

    /// <summary>
    /// When slot <paramref name="slot"/> of <paramref name="interval"/> first needs its trigger: the time it is next due
    /// (the interval's slots keep one phase, from the first probe of that interval); null when it has its trigger
    /// already. Only slots that ever held a probe fire: one target probed every second is two fires a second, not 100.
    /// </summary>
    internal DateTimeOffset? NeedsTrigger(TimeSpan interval, int slot, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (!_triggered.Add((interval, slot))) return null;
            if (!_origins.TryGetValue(interval, out var origin)) _origins[interval] = origin = now;
            var offset = TimeSpan.FromTicks(interval.Ticks * slot / SlotsPer(interval));
            var cycles = Math.Max(0, (long)Math.Ceiling((now - origin - offset) / interval));
            return origin + offset + interval * cycles;
        }
    }

    /// <summary>The slot a probe is in (null when it is not scheduled).</summary>
    public int? SlotOf(string key) => _probes.TryGetValue(key, out var m) ? m.Slot : null;

    /// <summary>How many probes each slot of <paramref name="interval"/> holds.</summary>
    public int[] SlotSizes(TimeSpan interval)
    {
        lock (_gate) return _slots.TryGetValue(interval, out var slots) ? slots.Select(s => s.Length).ToArray() : [];
    }

    /// <summary>Every scheduled probe.</summary>
    public IEnumerable<ScheduledProbe> All => _probes.Values.Select(v => v.Probe);
}

/// <summary>
/// Fires one slot: starts an attempt of each of its probes. ICMP and ARP are sent on this thread by their shared
/// engines (a datagram each; no task); the others run as tasks. A probe whose previous attempt is still out is skipped
/// that round and the skip counted (never two attempts of one probe at once); <see cref="DisallowConcurrentExecutionAttribute"/>
/// keeps a slot's fires from overlapping.
/// </summary>
[DisallowConcurrentExecution]
public sealed class ProbeSlotJob(ProbeRegistry registry, IProbeResultSink sink) : IJob
{
    /// <summary>The job data keys: the interval (ticks) and the slot.</summary>
    public const string IntervalKey = "interval", SlotKey = "slot";

    /// <inheritdoc/>
    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        Fire(TimeSpan.FromTicks(context.MergedJobDataMap.GetLong(IntervalKey)), context.MergedJobDataMap.GetInt(SlotKey), context.ScheduledFireTimeUtc, context.PreviousFireTimeUtc);
        return ValueTask.CompletedTask;
    }

    /// <summary>One fire of slot <paramref name="slot"/> of <paramref name="interval"/>, due at <paramref name="scheduled"/>.</summary>
    internal void Fire(TimeSpan interval, int slot, DateTimeOffset? scheduled, DateTimeOffset? previous)
    {
        var members = registry.Slot(interval, slot);
        if (members.Length == 0 || registry.Stopping.IsCancellationRequested) return;
        var at = registry.Time.GetUtcNow();
        // How late this fire is against its schedule, and how many rounds were skipped before it (a paused process, a
        // starved scheduler): Quartz skips missed fires rather than queueing them.
        var lag = scheduled is { } due && at > due ? at - due : TimeSpan.Zero;
        var missed = previous is { } p && scheduled is { } s ? Math.Max(0, (int)Math.Round((s - p) / interval) - 1) : 0;
        foreach (var m in members)
        {
            if (Interlocked.CompareExchange(ref m.InFlight, 1, 0) != 0)
            {
                Interlocked.Increment(ref m.Skipped);
                continue;
            }
            var skipped = missed + Interlocked.Exchange(ref m.Skipped, 0);
            if (m.Probe.Probe is IEngineProbe engine)
            {
                try
                {
                    engine.Start(m.Timeout, r => Done(m, r, lag, skipped, at));
                }
                catch (Exception e)
                {
                    Done(m, new ProbeResult(m.Probe.Probe.Name, ProbeStatus.Error, TimeSpan.Zero, e.Message), lag, skipped, at);
                }
            }
            else
            {
                _ = RunAsync(m, lag, skipped, at);
            }
        }
    }

    private async Task RunAsync(ProbeRegistry.Member m, TimeSpan lag, int skipped, DateTimeOffset at)
    {
        ProbeResult result;
        try
        {
            result = await m.Runner.RunAsync(m.Probe.Probe, registry.Stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Volatile.Write(ref m.InFlight, 0);
            return; // shutting down: no result rather than a false timeout
        }
        Done(m, result, lag, skipped, at);
    }

    private void Done(ProbeRegistry.Member m, ProbeResult result, TimeSpan lag, int skipped, DateTimeOffset at)
    {
        Volatile.Write(ref m.InFlight, 0);
        if (registry.Stopping.IsCancellationRequested) return;
        sink.Record(m.Probe, result with { ScheduleLag = lag, MissedRounds = skipped }, at);
    }
}

/// <summary>Wires the probe scheduler into a host (Quartz.NET, in-memory).</summary>
public static class ProbeSchedulingExtensions
{
    /// <summary>Job group of the slot jobs.</summary>
    public const string Group = "probes";

    /// <summary>Quartz's worker threads: slot jobs only start attempts, so a few are enough whatever the target count.</summary>
    public const int SchedulerThreads = 4;

    /// <summary>How early a fire may start so that fires due close together are taken in one batch.</summary>
    public static readonly TimeSpan FireAhead = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Schedules each (target, probe) on its own interval, in one of the interval's slots (<see cref="ProbeRegistry"/>),
    /// the probes of one interval spread evenly over its slots from a random phase (<see cref="Offsets"/>). Missed fires
    /// (the host was suspended, the process paused) are skipped, not replayed: Quartz's "next with remaining count"
    /// misfire instruction, because a burst of catch-up probes would hide the stall and hammer the target. Register an
    /// <see cref="IProbeResultSink"/> as well.
    /// </summary>
    public static IServiceCollection AddProbeScheduler(this IServiceCollection services, IEnumerable<ScheduledProbe> probes, TimeProvider? time = null, Random? jitter = null)
    {
        time ??= TimeProvider.System;
        var registry = new ProbeRegistry(time);
        var list = probes.ToList();
        foreach (var p in list) Check(p);
        if (list.GroupBy(p => p.Key).FirstOrDefault(g => g.Count() > 1) is { } twice) throw new ArgumentException($"probe '{twice.Key}' is scheduled twice");
        services.AddSingleton(registry);
        services.TryAddSingleton(time);
        services.AddQuartz(q =>
        {
            // A slot's job only starts its attempts and never waits (the answers come back on the engines' threads, DNS
            // and TCP run as tasks): four threads run every slot's fire at a thousand targets (100 fires a second, each
            // microseconds long). Quartz fetches at most as many fires in a batch as it has free threads.
            q.UseDefaultThreadPool(SchedulerThreads);
            // Fires due within the same few milliseconds are fetched in one batch (one wake-up and one lock of the job
            // store); a fire can then start up to FireAhead early (never late).
            q.ConfigureScheduler(o =>
            {
                // Quartz keeps its schedulers in a process-wide repository by name: a host's own name, so a second host
                // in the process (the tests build one after another) never finds the last one's scheduler still there.
                o.InstanceName = $"reachprobe-{Guid.NewGuid():N}";
                o.MaxBatchSize = SchedulerThreads; // Quartz holds fires beyond its free threads: a batch is what the pool can run at once
                o.BatchTriggerAcquisitionFireAheadTimeWindow = FireAhead;
            });
        });
        // Jobs are scheduled when the host starts, the same way a reload adds them; the same service starts and stops
        // the scheduler (in place of Quartz's hosted service, whose stop waits out the scheduler's shutdown).
        services.AddHostedService(sp => new ProbeSchedulerService(sp.GetRequiredService<ISchedulerFactory>(), registry, list, time, jitter ?? Random.Shared));
        return services;
    }

    /// <summary>
    /// Schedules the probes and starts the scheduler; on stop, puts it in standby at once (no trigger fires after that,
    /// so no job is made from a disposed container), drops the results still to come and gives its shutdown at most a
    /// second: probes in flight are cancelled, never waited for.
    /// </summary>
    private sealed class ProbeSchedulerService(ISchedulerFactory schedulers, ProbeRegistry registry, List<ScheduledProbe> probes, TimeProvider time, Random jitter)
        : Microsoft.Extensions.Hosting.IHostedService
    {
        private IScheduler? _scheduler;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            _scheduler = await schedulers.GetScheduler(cancellationToken).ConfigureAwait(false);
            await ScheduleAsync(_scheduler, registry, probes, time, cancellationToken, jitter).ConfigureAwait(false);
            await _scheduler.Start(cancellationToken).ConfigureAwait(false);
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            registry.Stop();
            if (_scheduler is null) return;
            await _scheduler.Standby(cancellationToken).ConfigureAwait(false);
            var shutdown = _scheduler.Shutdown(waitForJobsToComplete: false, CancellationToken.None);
            await Task.WhenAny(shutdown.AsTask(), Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Adds probes (at start, or from a reloaded configuration): into the slots <see cref="Offsets"/> gives them when
    /// their interval is new, else into its least used slots; an interval's slot triggers are made with its first probes.
    /// </summary>
    /// <param name="scheduler">The scheduler.</param>
    /// <param name="registry">Where the slot jobs find their probes.</param>
    /// <param name="probes">The probes.</param>
    /// <param name="time">The clock of the triggers.</param>
    /// <param name="cancel">Cancellation.</param>
    /// <param name="jitter">Picks the random phase.</param>
    public static async Task ScheduleAsync(IScheduler scheduler, ProbeRegistry registry, IEnumerable<ScheduledProbe> probes, TimeProvider time, CancellationToken cancel,
        Random? jitter = null)
    {
        jitter ??= Random.Shared;
        var list = probes.ToList();
        foreach (var p in list) Check(p);
        var offsets = Offsets(list, jitter);
        var now = time.GetUtcNow();
        // Intervals no probe had before this call: their probes take the slots Offsets gives them (spread, a target's
        // probes apart); the others go where there is room. Decided before any is added.
        var fresh = list.Select(p => p.Interval).Distinct().Where(i => registry.SlotSizes(i).Length == 0).ToHashSet();
        for (var i = 0; i < list.Count; i++)
        {
            var p = list[i];
            var slots = ProbeRegistry.SlotsPer(p.Interval);
            var slot = registry.Add(p, fresh.Contains(p.Interval) ? (int)(offsets[i].Ticks * slots / p.Interval.Ticks) % slots : null);
            if (registry.NeedsTrigger(p.Interval, slot, now) is not { } first) continue;
            var key = new JobKey($"{p.Interval.Ticks}/{slot}", Group);
            var job = JobBuilder.Create<ProbeSlotJob>().WithIdentity(key)
                .UsingJobData(ProbeSlotJob.IntervalKey, p.Interval.Ticks).UsingJobData(ProbeSlotJob.SlotKey, slot).Build();
            var trigger = TriggerBuilder.Create(time)
                .ForJob(key)
                .WithIdentity(key.Name, Group)
                .StartAt(first)
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

    /// <summary>Removes probes from their slots; returns them (to dispose once their last attempt is over).</summary>
    public static List<ScheduledProbe> Unschedule(ProbeRegistry registry, IEnumerable<string> keys) =>
        keys.Select(registry.Remove).OfType<ScheduledProbe>().ToList();

    private static void Check(ScheduledProbe p)
    {
        if (!ReachProbe.Agent.AgentConfig.IntervalSeconds.Contains(p.Interval.TotalSeconds))
            throw new ArgumentOutOfRangeException(nameof(p), $"probe '{p.Key}': interval must be {ReachProbe.Agent.AgentConfig.IntervalSeconds.Text} s, not {p.Interval}");
        if (p.Timeout > p.Interval)
            throw new ArgumentOutOfRangeException(nameof(p), $"probe '{p.Key}': timeout {p.Timeout} is longer than its interval {p.Interval}");
    }
}
