namespace ReachProbe.Probes;

/// <summary>
/// Bounds the TCP and DNS probes in flight at once (each holds a socket until it is answered or times out). A probe
/// that finds every slot taken is not sent and says so (<see cref="ProbeStatus.Error"/>: no evidence about the target,
/// counted as an error) rather than waiting: a wait would end in a timeout, which would be the monitor's fault counted
/// against the target. One instance is shared by every probe of an agent.
/// </summary>
public sealed class ProbeLimiter(int limit = ProbeLimiter.DefaultLimit)
{
    /// <summary>Default bound: far above a home's needs, and a venue's thousand targets with a TCP probe each at 1 s with
    /// sub-second answers stay well below it.</summary>
    public const int DefaultLimit = 512;

    private readonly SemaphoreSlim _slots = new(limit, limit);

    /// <summary>The shared instance the probes use unless given another.</summary>
    public static ProbeLimiter Shared { get; } = new();

    /// <summary>The bound.</summary>
    public int Limit { get; } = limit;

    /// <summary>Slots free now.</summary>
    public int Free => _slots.CurrentCount;

    /// <summary>Takes a slot if one is free; the caller releases it with <see cref="Release"/>.</summary>
    public bool TryEnter() => _slots.Wait(0);

    /// <summary>Gives a slot back.</summary>
    public void Release() => _slots.Release();

    /// <summary>Runs <paramref name="send"/> in a slot, or returns <see cref="Refusal"/> without running it when none is free.</summary>
    public async Task<ProbeResult> RunAsync(string probe, Func<CancellationToken, Task<ProbeResult>> send, CancellationToken cancellation)
    {
        if (!TryEnter()) return Refusal(probe);
        try
        {
            return await send(cancellation).ConfigureAwait(false);
        }
        finally
        {
            Release();
        }
    }

    /// <summary>The result of a probe that was not sent because every slot was taken.</summary>
    public ProbeResult Refusal(string probe) =>
        new(probe, ProbeStatus.Error, TimeSpan.Zero, $"not sent: {Limit} TCP and DNS probes already in flight");
}
