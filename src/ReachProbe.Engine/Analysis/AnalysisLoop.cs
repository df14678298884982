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
    /// <summary>Called on every pass of the loop, to hand what came in to <paramref name="intake"/>; <paramref name="tick"/> on the passes that are a tick.</summary>
    void Poll(IEvidenceIntake intake, DateTimeOffset now, bool tick);
}

/// <summary>
/// What a producer may do with the loop: look a host up, hand it (or every host) evidence, and say that a MAC answered
/// for a host's address — which is proof only from the host's own MAC (<see cref="WirePipeline.ArpClaim"/>). Producers
/// never reach into the pipeline or the loop's source.
/// </summary>
public interface IEvidenceIntake
{
    /// <summary>Every host tracked.</summary>
    IReadOnlyCollection<HostMonitor> Hosts { get; }

    /// <summary>The host of an address, or null.</summary>
    HostMonitor? Find(UInt128 ip);

    /// <summary>Evidence about one host.</summary>
    void Add(HostMonitor host, in Evidence evidence);

    /// <summary>Evidence about every host (the monitor going blind or seeing again).</summary>
    void AddToAll(in Evidence evidence);

    /// <summary><paramref name="mac"/> answered for <paramref name="host"/>'s address at <paramref name="time"/>: true when that is the host's own MAC; else a conflict, counted, which proves nothing.</summary>
    bool Claim(HostMonitor host, ulong mac, long time);
}

/// <summary>
/// The one analysis loop behind <c>analyze</c> and the live agent: frames from an <see cref="ICaptureSource"/> and
/// evidence from <see cref="IEvidenceProducer"/>s go through one <see cref="WirePipeline"/>; observers see evidence and
/// state changes. One step for both (<see cref="Step"/>): live it runs at every pass on the system clock, offline at
/// every <see cref="TickInterval"/> of packet time (<see cref="RunToEnd"/>, with a <see cref="PacketClock"/>).
/// Invariant: single-threaded; only the thread running <see cref="Pass"/>, <see cref="RunToEnd"/> or
/// <see cref="RunAsync"/> touches the pipeline. Producers hand over through their own channels and never wait.
/// </summary>
public sealed class AnalysisLoop : IEvidenceIntake
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

    /// <summary>Where frames come from: a capture file, or the live capture (which reopens its device behind it).</summary>
    public ICaptureSource? Source { get; init; }

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

    /// <inheritdoc/>
    public IReadOnlyCollection<HostMonitor> Hosts => Pipeline.Hosts;

    /// <inheritdoc/>
    public HostMonitor? Find(UInt128 ip) => Pipeline.Find(ip);

    /// <inheritdoc/>
    public void Add(HostMonitor host, in Evidence evidence) => host.Add(evidence);

    /// <inheritdoc/>
    public void AddToAll(in Evidence evidence)
    {
        foreach (var h in Pipeline.Hosts) h.Add(evidence);
    }

    /// <inheritdoc/>
    public bool Claim(HostMonitor host, ulong mac, long time) => Pipeline.ArpClaim(host, mac, time);

    /// <summary>
    /// One pass of the live loop at <paramref name="now"/>: every frame available now, then <see cref="Step"/>.
    /// Returns the frames processed.
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
        Step(now);
        return frames;
    }

    /// <summary>
    /// What the loop does besides frames, live and offline alike: every producer is polled, timeouts and decisions that
    /// waited for time are settled (the pipeline does so every 100 ms of its clock at most), and — once per
    /// <see cref="TickInterval"/> — producers and observers are told it is a tick.
    /// </summary>
    private void Step(DateTimeOffset now)
    {
        var tick = now >= _nextTick;
        if (tick) _nextTick = now + TickInterval;
        foreach (var p in _producers) p.Poll(this, now, tick);
        Pipeline.Advance(now.UtcTicks);
        if (tick) foreach (var o in _observers) o.OnTick(now);
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
    /// Offline: the live loop's passes driven by the file's clock. Reads <see cref="Source"/> to its end with packet time
    /// as the clock (never running backwards, even in a capture merged out of order), taking the loop's
    /// <see cref="Step"/> whenever packet time reaches the next tick, then settles what timed out by the last packet
    /// and takes a last step there. A source that breaks part-way yields the results of the frames before the break,
    /// and the error.
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
            var nextTick = long.MinValue;
            while (source.TryRead(out var frame))
            {
                var t = Math.Max(frame.Time, last);
                first ??= t;
                last = t;
                clock.Now = t;
                Pipeline.Process(link, frame.Data, t);
                if (t >= nextTick)
                {
                    Step(new DateTimeOffset(t, TimeSpan.Zero));
                    nextTick = _nextTick.UtcTicks;
                }
                if ((Pipeline.Counters.Frames & 0xFFFF) == 0) onFrames?.Invoke();
            }
        }
        catch (CaptureException e)
        {
            error = e.Message;
        }
        if (first is not null)
        {
            Pipeline.Flush(last);
            _nextTick = DateTimeOffset.MinValue; // the last step is a tick: observers see the state at the end
            Step(new DateTimeOffset(last, TimeSpan.Zero));
        }
        return new OfflineRun(first, first is null ? null : last, error);
    }
}

/// <summary>What <see cref="AnalysisLoop.RunToEnd"/> read.</summary>
/// <param name="First">First packet time (UTC ticks), null for a capture with no packets.</param>
/// <param name="Last">Last packet time.</param>
/// <param name="Error">Why the source broke off part-way, or null.</param>
public readonly record struct OfflineRun(long? First, long? Last, string? Error);
