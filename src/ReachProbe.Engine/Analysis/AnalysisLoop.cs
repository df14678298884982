using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Analysis;

/// <summary>Watches the loop: metrics, history and the log in the agent. Called on the loop's thread only.</summary>
public interface IAnalysisObserver
{
    /// <summary>A host started being tracked (configured targets are announced when the observer is added).</summary>
    void OnHostAdded(HostMonitor host) { }

    /// <summary>A piece of evidence, before the verdict engine weighs it.</summary>
    void OnEvidence(HostMonitor host, in Evidence evidence) { }

    /// <summary>A host's state changed.</summary>
    void OnStateChanged(HostMonitor host, StateChange change) { }

    /// <summary>Every <see cref="AnalysisLoop.TickInterval"/> of the loop's clock, after timeouts were settled.</summary>
    void OnTick(DateTimeOffset now) { }
}

/// <summary>Brings evidence from outside the wire (probe results, monitor health) into the loop, on its thread.</summary>
public interface IEvidenceProducer
{
    /// <summary>Called on every pass of the loop; <paramref name="tick"/> on the passes that are a tick.</summary>
    void Poll(AnalysisLoop loop, DateTimeOffset now, bool tick);
}

/// <summary>
/// The one analysis loop behind <c>analyze</c> and the live agent: frames from an <see cref="ICaptureSource"/> and
/// evidence from <see cref="IEvidenceProducer"/>s go through one <see cref="WirePipeline"/>; observers see evidence and
/// state changes. Only the clock differs: packet time offline (<see cref="PacketClock"/>), the system clock live.
/// Invariant: single-threaded; only the thread running <see cref="Pass"/>, <see cref="RunToEnd"/> or
/// <see cref="RunAsync"/> touches the pipeline. Producers hand over through their own channels and never wait.
/// </summary>
public sealed class AnalysisLoop
{
    /// <summary>How often timeouts are settled, producers ticked and observers told.</summary>
    public static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(250);

    private readonly List<IEvidenceProducer> _producers = [];
    private readonly List<IAnalysisObserver> _observers = [];
    private DateTimeOffset _nextTick = DateTimeOffset.MinValue;

    /// <summary>Creates the loop around a pipeline; <paramref name="time"/> must be the pipeline's clock.</summary>
    public AnalysisLoop(WirePipeline pipeline, TimeProvider time)
    {
        Pipeline = pipeline;
        Time = time;
        foreach (var h in pipeline.Hosts) Hook(h);
        pipeline.HostAdded += h =>
        {
            Hook(h);
            foreach (var o in _observers) o.OnHostAdded(h);
        };
    }

    /// <summary>The pipeline.</summary>
    public WirePipeline Pipeline { get; }

    /// <summary>The loop's clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>Where frames come from; null while there is none (a live capture that is down).</summary>
    public ICaptureSource? Source { get; set; }

    /// <summary>Adds a producer.</summary>
    public AnalysisLoop AddProducer(IEvidenceProducer producer)
    {
        _producers.Add(producer);
        return this;
    }

    /// <summary>Adds an observer and announces the hosts already tracked to it.</summary>
    public AnalysisLoop AddObserver(IAnalysisObserver observer)
    {
        _observers.Add(observer);
        foreach (var h in Pipeline.Hosts) observer.OnHostAdded(h);
        return this;
    }

    private void Hook(HostMonitor host)
    {
        host.EvidenceObserved += (h, e) =>
        {
            foreach (var o in _observers) o.OnEvidence(h, e);
        };
        host.Verdict.StateChanged += change =>
        {
            foreach (var o in _observers) o.OnStateChanged(host, change);
        };
    }

    /// <summary>Gives evidence to every tracked host (the monitor going blind or seeing again).</summary>
    public void AddToAll(in Evidence evidence)
    {
        foreach (var h in Pipeline.Hosts) h.Add(evidence);
    }

    /// <summary>
    /// One pass of the live loop at <paramref name="now"/>: every frame available now, every producer, and — once per
    /// <see cref="TickInterval"/> — the observers' tick; timeouts are settled at every pass, every 100 ms at most (the
    /// pipeline's own step). Returns the frames processed.
    /// </summary>
    public int Pass(DateTimeOffset now)
    {
        var frames = 0;
        if (Source is { } source)
        {
            var link = source.Link;
            while (source.TryRead(out var f))
            {
                Pipeline.Process(link, f.Data, f.Time);
                frames++;
            }
        }
        var tick = now >= _nextTick;
        if (tick) _nextTick = now + TickInterval;
        foreach (var p in _producers) p.Poll(this, now, tick);
        // Timeouts and decisions that waited for time: every pass (the pipeline settles them every 100 ms of its own).
        Pipeline.Advance(now.UtcTicks);
        if (tick) foreach (var o in _observers) o.OnTick(now);
        return frames;
    }

    /// <summary>
    /// Runs passes until <paramref name="stop"/>: after each, waits for frames, for <paramref name="wake"/> (a producer's
    /// signal) or for the next tick on <see cref="Time"/> — so a fake clock drives it in tests.
    /// </summary>
    public async Task RunAsync(Func<CancellationToken, ValueTask<bool>>? wake, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Pass(Time.GetUtcNow());
            var wait = _nextTick - Time.GetUtcNow();
            if (wait <= TimeSpan.Zero) continue;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
            var waits = new List<Task> { Task.Delay(wait, Time, cts.Token) };
            if (Source is { } source) waits.Add(source.WaitToReadAsync(cts.Token).AsTask());
            if (wake is not null) waits.Add(wake(cts.Token).AsTask());
            try
            {
                await Task.WhenAny(waits).ConfigureAwait(false);
            }
            finally
            {
                await cts.CancelAsync().ConfigureAwait(false);
                // Observe the losers so that a cancelled wait is never an unobserved exception.
                foreach (var t in waits) _ = t.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            }
        }
    }

    /// <summary>
    /// Offline: reads <see cref="Source"/> to its end with packet time as the clock (never running backwards, even in a
    /// capture merged out of order), then settles what timed out by the last packet. A source that breaks part-way
    /// yields the results of the frames before the break, and the error.
    /// </summary>
    /// <param name="clock">The pipeline's clock, set to each packet's time.</param>
    /// <param name="onFrames">Called every 65,536 frames (progress; it may throw to cancel).</param>
    public OfflineRun RunToEnd(PacketClock clock, Action? onFrames = null)
    {
        var source = Source ?? throw new InvalidOperationException("no source");
        var link = source.Link;
        long? first = null;
        long last = 0;
        string? error = null;
        try
        {
            while (source.TryRead(out var frame))
            {
                var t = Math.Max(frame.Time, last);
                first ??= t;
                last = t;
                clock.Now = t;
                Pipeline.Process(link, frame.Data, t);
                if ((Pipeline.Counters.Frames & 0xFFFF) == 0) onFrames?.Invoke();
            }
        }
        catch (CaptureException e)
        {
            error = e.Message;
        }
        if (first is not null) Pipeline.Flush(last);
        return new OfflineRun(first, first is null ? null : last, error);
    }
}

/// <summary>What <see cref="AnalysisLoop.RunToEnd"/> read.</summary>
/// <param name="First">First packet time (UTC ticks), null for a capture with no packets.</param>
/// <param name="Last">Last packet time.</param>
/// <param name="Error">Why the source broke off part-way, or null.</param>
public readonly record struct OfflineRun(long? First, long? Last, string? Error);
