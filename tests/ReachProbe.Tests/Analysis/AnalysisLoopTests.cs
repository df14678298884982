using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using ReachProbe.Analysis;
using ReachProbe.Testing;
using ReachProbe.Wire;
using static ReachProbe.Testing.Scenarios;

namespace ReachProbe.Tests.Analysis;

/// <summary>
/// The one loop, live (<see cref="AnalysisLoop.RunAsync"/> on a fake clock) and offline (<see cref="AnalysisLoop.RunToEnd"/>
/// on packet time): the same step — producers polled, observers ticked every 250 ms of the loop's clock.
/// </summary>
public sealed class AnalysisLoopTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 20, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10); // liveness only: how long a test waits for the loop

    /// <summary>Frames handed in by the test, as a live capture hands them.</summary>
    private sealed class QueueSource : ICaptureSource
    {
        private readonly Channel<(long Time, byte[] Frame)> _frames = Channel.CreateUnbounded<(long, byte[])>();
        public string Name => "queue";
        public LinkKind Link => LinkKind.Ethernet;
        public void Write(long time, byte[] frame) => _frames.Writer.TryWrite((time, frame));

        public bool TryRead(out CapturedFrame frame)
        {
            if (_frames.Reader.TryRead(out var f))
            {
                frame = new CapturedFrame(f.Time, f.Frame, f.Frame.Length);
                return true;
            }
            frame = default;
            return false;
        }

        public ValueTask<bool> WaitToReadAsync(CancellationToken cancellation) => _frames.Reader.WaitToReadAsync(cancellation);
        public void Dispose() { }
    }

    private sealed class Watcher : IAnalysisObserver, IEvidenceProducer
    {
        private readonly object _gate = new();
        public List<DateTimeOffset> Ticks { get; } = [];
        public int Polls;
        public int ProducerTicks;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnTick(DateTimeOffset now)
        {
            lock (_gate)
            {
                Ticks.Add(now);
                _changed.TrySetResult();
            }
        }

        public void Poll(IEvidenceIntake intake, DateTimeOffset now, bool tick)
        {
            Interlocked.Increment(ref Polls);
            if (tick) Interlocked.Increment(ref ProducerTicks);
            lock (_gate) _changed.TrySetResult();
        }

        /// <summary>Waits until <paramref name="done"/> holds, woken by each step of the loop.</summary>
        public async Task Until(Func<bool> done)
        {
            var deadline = DateTime.UtcNow + Bound;
            while (true)
            {
                Task next;
                lock (_gate)
                {
                    if (done()) return;
                    if (_changed.Task.IsCompleted) _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
                    next = _changed.Task;
                }
                if (done()) return;
                var left = deadline - DateTime.UtcNow;
                Assert.True(left > TimeSpan.Zero, "the loop did not get there");
                await Task.WhenAny(next, Task.Delay(TimeSpan.FromMilliseconds(50)));
            }
        }
    }

    [Fact]
    public async Task RunAsync_FakeClock_TicksEvery250Ms_WakesForFrames_AndStopsWhenAsked()
    {
        var clock = new FakeTimeProvider(T0);
        var pipeline = new WirePipeline(new ReachProbe.Verdict.VerdictOptions(), clock, new Dictionary<UInt128, ulong> { [TestFrames.Ip(GameConsole.Ip)] = 0 });
        var source = new QueueSource();
        var watcher = new Watcher();
        var loop = new AnalysisLoop(pipeline, clock) { Source = source }.AddObserver(watcher).AddProducer(watcher);
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => loop.RunAsync(null, stop.Token));

        await watcher.Until(() => watcher.Ticks.Count == 1); // the first pass is a tick
        clock.Advance(TimeSpan.FromMilliseconds(249));
        await Task.Delay(100);
        Assert.Single(watcher.Ticks); // not yet
        // Time goes on a millisecond at a time, as it does: the loop may register its wait a moment after a step (on a
        // busy machine), and a single step past the tick could land before the wait it should end.
        for (var i = 0; i < 200 && watcher.Ticks.Count < 2; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(1));
            await Task.WhenAny(watcher.Until(() => watcher.Ticks.Count == 2), Task.Delay(20));
        }
        await watcher.Until(() => watcher.Ticks.Count == 2);
        Assert.Equal(T0, watcher.Ticks[0]);
        Assert.InRange(watcher.Ticks[1] - T0, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(449));

        // A frame wakes the loop at once, without the clock moving: processed, and no extra tick.
        var polls = Volatile.Read(ref watcher.Polls);
        source.Write(clock.GetUtcNow().UtcTicks, Frames.EchoRequest(Pc, GameConsole, 1, 1));
        await watcher.Until(() => pipeline.Counters.Frames == 1 && Volatile.Read(ref watcher.Polls) > polls);
        Assert.Equal(2, watcher.Ticks.Count);
        Assert.Equal(2, watcher.ProducerTicks);

        await stop.CancelAsync();
        await run.WaitAsync(Bound);
    }

    [Fact]
    public void RunToEnd_PacketTime_TakesTheSameStepEvery250MsOfTheFile_AndOnceAtItsEnd()
    {
        var clock = new PacketClock();
        var pipeline = new WirePipeline(new ReachProbe.Verdict.VerdictOptions(), clock);
        var source = new QueueSource();
        // Frames at 0, 0.1, … 1.0 s of packet time.
        for (var i = 0; i <= 10; i++) source.Write(T0.AddMilliseconds(100 * i).UtcTicks, Frames.ArpRequest(Pc, GameConsole.Ip));
        var watcher = new Watcher();
        var loop = new AnalysisLoop(pipeline, clock) { Source = source }.AddObserver(watcher).AddProducer(watcher);
        var run = loop.RunToEnd(clock);
        Assert.Equal(11, pipeline.Counters.Frames);
        Assert.Equal((T0.UtcTicks, T0.AddSeconds(1).UtcTicks), (run.First, run.Last));
        // Ticks at the first frame at or after each 250 ms of packet time (0, 0.3, 0.6, 0.9), and one at the end.
        Assert.Equal([0, 300, 600, 900, 1000], watcher.Ticks.Select(t => (int)(t - T0).TotalMilliseconds));
    }
}
