namespace ReachProbe.Probes;

/// <summary>
/// One active probe of one target. Implementations send one request per call, wait for its answer until the token is
/// cancelled, and return a <see cref="ProbeResult"/>: they never throw for a network outcome and never retry (a lost
/// probe must stay visible — blackbox_exporter #320). The per-attempt timeout is applied by <see cref="ProbeRunner"/>.
/// </summary>
public interface IProbe : IDisposable
{
    /// <summary>Name as configured, e.g. "icmp", "tcp:9295".</summary>
    string Name { get; }

    /// <summary>Sends one probe and waits for its answer until <paramref name="cancellation"/> fires.</summary>
    Task<ProbeResult> ProbeAsync(CancellationToken cancellation);
}

/// <summary>
/// A probe whose attempts a shared engine sends and times (<see cref="IcmpEngine"/>, <see cref="ArpEngine"/>, one
/// <see cref="DeadlineSweep"/>): no task, timer or thread per attempt, which is what a thousand targets probed every
/// second need. The scheduler and <see cref="ProbeRunner"/> start these directly; the Polly timeout is for the others.
/// </summary>
public interface IEngineProbe : IProbe
{
    /// <summary>
    /// Sends one attempt now and calls <paramref name="done"/> exactly once, on the engine's thread: with the answer, or
    /// with a timeout once <paramref name="timeout"/> has passed (an answer after it is a timeout too). Never throws
    /// for a network outcome: a send the kernel refuses is a result.
    /// </summary>
    void Start(TimeSpan timeout, Action<ProbeResult> done);
}

/// <summary>Helpers for <see cref="IEngineProbe"/>.</summary>
public static class EngineProbe
{
    /// <summary>One attempt as a task, cut at <paramref name="timeout"/>.</summary>
    public static Task<ProbeResult> RunAsync(IEngineProbe probe, TimeSpan timeout)
    {
        var result = new TaskCompletionSource<ProbeResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        probe.Start(timeout, r => result.TrySetResult(r));
        return result.Task;
    }

    /// <summary>
    /// <see cref="IProbe.ProbeAsync"/> for an engine probe: waits until <paramref name="cancellation"/>, at most
    /// <see cref="ProbeRunner.TimeoutSeconds"/>' maximum (an abandoned attempt is swept at that deadline).
    /// </summary>
    public static Task<ProbeResult> UntilCancelledAsync(IEngineProbe probe, CancellationToken cancellation) =>
        RunAsync(probe, TimeSpan.FromSeconds(ProbeRunner.TimeoutSeconds.Max)).WaitAsync(cancellation);
}
