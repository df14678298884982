using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ReachProbe.Probes;

namespace ReachProbe.Tests.Probes;

public class ProbeSchedulingTests
{
    private sealed class CountingProbe(string name, TimeSpan takes) : IProbe
    {
        private int _running;
        public int MaxConcurrent;
        public int Calls;
        public ConcurrentBag<long> Starts { get; } = [];
        public string Name => name;

        public async Task<ProbeResult> ProbeAsync(CancellationToken cancellation)
        {
            var now = Interlocked.Increment(ref _running);
            InterlockedMax(ref MaxConcurrent, now);
            Interlocked.Increment(ref Calls);
            Starts.Add(System.Diagnostics.Stopwatch.GetTimestamp());
            try
            {
                await Task.Delay(takes, cancellation);
                return new ProbeResult(Name, ProbeStatus.Answered, takes, "ok");
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int seen;
            while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
        }

        public void Dispose() { }
    }

    private sealed class Sink : IProbeResultSink
    {
        public ConcurrentQueue<(string Key, ProbeResult Result)> Results { get; } = new();
        public void Record(ScheduledProbe probe, ProbeResult result, DateTimeOffset at) => Results.Enqueue((probe.Key, result));
    }

    [Fact]
    public async Task AddProbeScheduler_RunsEachProbeOnItsInterval_NeverOverlappingItself()
    {
        var fast = new CountingProbe("fast", TimeSpan.FromMilliseconds(10));
        // Takes longer than its interval: Quartz must not start the next attempt while one is running.
        var slow = new CountingProbe("slow", TimeSpan.FromMilliseconds(450));
        var sink = new Sink();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<IProbeResultSink>(sink);
        builder.Services.AddProbeScheduler(
        [
            new ScheduledProbe("console", fast, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(100)),
            new ScheduledProbe("console", slow, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200)),
        ], jitter: new Random(1));
        using var host = builder.Build();
        await host.StartAsync();
        // Counted from its first start, not from the host's: starting a host on a busy machine (CI runs lab tests beside
        // this one) can take longer than the window itself.
        var wait = System.Diagnostics.Stopwatch.StartNew();
        while (fast.Starts.IsEmpty && wait.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(10);
        Assert.False(fast.Starts.IsEmpty, "the fast probe never started in 30 s");
        var origin = fast.Starts.Min();
        await Task.Delay(TimeSpan.FromSeconds(2.2));
        await host.StopAsync();

        // Every 200 ms: in the 2 s from its first start at most 11 starts, or 12 when that first fire came late (a busy
        // start) and the next one on time; missed fires are skipped, never replayed in a burst. At least a few even
        // when the machine is busy.
        var inFirstTwoSeconds = fast.Starts.Count(t => System.Diagnostics.Stopwatch.GetElapsedTime(origin, t) <= TimeSpan.FromSeconds(2));
        Assert.InRange(inFirstTwoSeconds, 3, 12);
        Assert.Equal(1, slow.MaxConcurrent);
        Assert.Equal(1, fast.MaxConcurrent);
        // The slow probe's 200 ms timeout cuts each 450 ms attempt: results are timeouts, not answers.
        Assert.All(sink.Results.Where(r => r.Key == "console/slow"), r => Assert.Equal(ProbeStatus.Timeout, r.Result.Status));
        Assert.Contains(sink.Results, r => r.Key == "console/fast" && r.Result.Status == ProbeStatus.Answered);
    }

    [Fact]
    public async Task AddProbeScheduler_AThousandTargets_TenInEachOfTheSecondsHundredSlots_ThenReloadsFillTheLeastUsed()
    {
        var probes = Enumerable.Range(0, 1000)
            .Select(i => new ScheduledProbe($"t{i}", new CountingProbe("icmp", TimeSpan.Zero), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1))).ToList();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<IProbeResultSink>(new Sink());
        builder.Services.AddProbeScheduler(probes, jitter: new Random(5));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var registry = host.Services.GetRequiredService<ProbeRegistry>();
            Assert.Equal(Enumerable.Repeat(10, 100), registry.SlotSizes(TimeSpan.FromSeconds(1)));
            // A reload adds 50 and removes 10 from slot-mates: the new ones go where there is room.
            ProbeSchedulingExtensions.Unschedule(registry, Enumerable.Range(0, 10).Select(i => $"t{i}/icmp"));
            var scheduler = await host.Services.GetRequiredService<Quartz.ISchedulerFactory>().GetScheduler();
            await ProbeSchedulingExtensions.ScheduleAsync(scheduler, registry,
                Enumerable.Range(1000, 50).Select(i => new ScheduledProbe($"t{i}", new CountingProbe("icmp", TimeSpan.Zero), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1))),
                TimeProvider.System, default);
            var sizes = registry.SlotSizes(TimeSpan.FromSeconds(1));
            Assert.Equal(1040, sizes.Sum());
            Assert.InRange(sizes.Min(), 10, 11);
            Assert.InRange(sizes.Max(), 10, 11);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    /// <summary>An engine probe nobody answers: each attempt ends at its deadline, swept on the given clock.</summary>
    private sealed class SilentEngineProbe(TimeProvider time) : IEngineProbe
    {
        public int Started;
        public string Name => "icmp";
        public void Start(TimeSpan timeout, Action<ProbeResult> done)
        {
            Started++;
            DeadlineSweep.For(time).Add(time.GetTimestamp(), timeout, () => done(new ProbeResult(Name, ProbeStatus.Timeout, timeout, "timeout")));
        }
        public Task<ProbeResult> ProbeAsync(CancellationToken cancellation) => EngineProbe.UntilCancelledAsync(this, cancellation);
        public void Dispose() { }
    }

    [Theory]
    [InlineData(1.0, 1.0, 0.975)]
    [InlineData(1.0, 0.5, 0.5)]
    [InlineData(0.1, 0.1, 0.075)]
    [InlineData(60, 10, 10)]
    public void AttemptTimeout_IsOverBeforeTheNextFire(double interval, double timeout, double expected) =>
        Assert.Equal(TimeSpan.FromSeconds(expected), ProbeRegistry.AttemptTimeout(
            new ScheduledProbe("t", new CountingProbe("icmp", TimeSpan.Zero), TimeSpan.FromSeconds(interval), TimeSpan.FromSeconds(timeout))));

    [Fact]
    public void SlotFire_TimeoutAsLongAsTheInterval_EveryRoundIsSent_NoneSkipped()
    {
        // Fake clock: each fire comes FireAhead early, as Quartz's batching allows. A never-answered attempt must be
        // over by then, or every other round finds it still out and is skipped.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var registry = new ProbeRegistry(clock);
        var probe = new SilentEngineProbe(clock);
        registry.Add(new ScheduledProbe("console", probe, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)), slot: 0);
        var sink = new Sink();
        var job = new ProbeSlotJob(registry, sink);
        var due = clock.GetUtcNow();
        for (var round = 0; round < 10; round++)
        {
            job.Fire(TimeSpan.FromSeconds(1), 0, due, round == 0 ? null : due - TimeSpan.FromSeconds(1));
            due += TimeSpan.FromSeconds(1);
            clock.Advance(due - ProbeSchedulingExtensions.FireAhead - clock.GetUtcNow());
        }
        Assert.Equal(10, probe.Started);
        Assert.Equal(10, sink.Results.Count);
        Assert.All(sink.Results, r => Assert.Equal((ProbeStatus.Timeout, 0), (r.Result.Status, r.Result.MissedRounds)));
    }

    [Fact]
    public async Task AddProbeScheduler_ATargetsProbesHalfAnIntervalApart_TargetsSpread()
    {
        // In configuration order (t0/icmp, t0/arp, t1/icmp, …), as the agent lists them: the slots must come from the
        // spread, not from the order — filled in order, a target's two probes sat 10 ms apart and every 50th target
        // shared a slot, so a fault was seen at one phase of the cycle only.
        var probes = Enumerable.Range(0, 1000).SelectMany(i => new[]
        {
            new ScheduledProbe($"t{i}", new CountingProbe("icmp", TimeSpan.Zero), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)),
            new ScheduledProbe($"t{i}", new CountingProbe("arp", TimeSpan.Zero), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)),
        }).ToList();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<IProbeResultSink>(new Sink());
        builder.Services.AddProbeScheduler(probes, jitter: new Random(4));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var registry = host.Services.GetRequiredService<ProbeRegistry>();
            Assert.Equal(Enumerable.Repeat(20, 100), registry.SlotSizes(TimeSpan.FromSeconds(1)));
            for (var i = 0; i < 1000; i++)
            {
                var gap = Math.Abs(registry.SlotOf($"t{i}/icmp")!.Value - registry.SlotOf($"t{i}/arp")!.Value);
                Assert.InRange(Math.Min(gap, 100 - gap), 49, 50);
            }
            // Every 50th target (t0, t50, t100, …): spread over the cycle, not in one slot.
            Assert.True(Enumerable.Range(0, 20).Select(k => registry.SlotOf($"t{k * 50}/icmp")).Distinct().Count() >= 15);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task AddProbeScheduler_OneTarget_OnlyItsSlotsFire()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<IProbeResultSink>(new Sink());
        builder.Services.AddProbeScheduler(
        [
            new ScheduledProbe("console", new CountingProbe("icmp", TimeSpan.Zero), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)),
            new ScheduledProbe("console", new CountingProbe("arp", TimeSpan.Zero), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)),
        ], jitter: new Random(2));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var scheduler = await host.Services.GetRequiredService<Quartz.ISchedulerFactory>().GetScheduler();
            var triggers = 0;
            for (var k = 0; k < ProbeRegistry.SlotsPer(TimeSpan.FromSeconds(1)); k++)
                if (await scheduler.Exists(new Quartz.TriggerKey($"{TimeSpan.FromSeconds(1).Ticks}/{k}", ProbeSchedulingExtensions.Group))) triggers++;
            Assert.Equal(2, triggers); // two fires a second, not a hundred
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public void AddProbeScheduler_TimeoutLongerThanInterval_IsRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ServiceCollection().AddProbeScheduler(
            [new ScheduledProbe("console", new CountingProbe("icmp", TimeSpan.Zero), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2))]));
        Assert.Contains("probe 'console/icmp': timeout 00:00:02 is longer than its interval 00:00:01", e.Message);
    }

    [Fact]
    public void AddProbeScheduler_SameProbeTwice_IsRejected()
    {
        var p = new CountingProbe("icmp", TimeSpan.Zero);
        var e = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddProbeScheduler(
            [new ScheduledProbe("console", p, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)), new ScheduledProbe("console", p, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1))]));
        Assert.Contains("probe 'console/icmp' is scheduled twice", e.Message);
    }

    [Fact]
    public void Offsets_AThousandTargetsOverOneSecond_EvenWithinFivePercentPerSlot()
    {
        var probes = Enumerable.Range(0, 1000)
            .Select(i => new ScheduledProbe($"t{i}", new CountingProbe("icmp", TimeSpan.Zero), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1))).ToList();
        var offsets = ProbeSchedulingExtensions.Offsets(probes, new Random(3));
        Assert.All(offsets, o => Assert.InRange(o, TimeSpan.Zero, TimeSpan.FromSeconds(1)));
        foreach (var slot in offsets.GroupBy(o => (int)(o.TotalMilliseconds / 100)))
            Assert.InRange(slot.Count(), 95, 105);
        Assert.Equal(10, offsets.Select(o => (int)(o.TotalMilliseconds / 100)).Distinct().Count());
    }

    [Fact]
    public void Offsets_ATargetsProbes_AreApart()
    {
        var probes = Enumerable.Range(0, 100).SelectMany(i => new[]
        {
            new ScheduledProbe($"t{i}", new CountingProbe("icmp", TimeSpan.Zero), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)),
            new ScheduledProbe($"t{i}", new CountingProbe("arp", TimeSpan.Zero), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)),
        }).ToList();
        var offsets = ProbeSchedulingExtensions.Offsets(probes, new Random(3));
        for (var i = 0; i < probes.Count; i += 2)
        {
            var gap = Math.Abs((offsets[i] - offsets[i + 1]).TotalSeconds);
            Assert.InRange(Math.Min(gap, 1 - gap), 0.4, 0.5);
        }
    }
}
