namespace ReachProbe.Resilience;

/// <summary>
/// Capped exponential backoff for infrastructure that is reopened after a failure (the live capture, the ARP engine's
/// capture handle, the history database) — never for probe traffic, which is not retried (blackbox_exporter #320).
/// After a failure the next try is due <c>first</c> later, then twice as long after each further failure, up to
/// <c>max</c>; a success starts again from <c>first</c>. Nothing here waits: the caller asks <see cref="Due"/> and
/// goes on, so no thread (the analysis loop, the scheduler's) is ever blocked by a device that is coming up.
/// </summary>
public sealed class Backoff(TimeSpan first, TimeSpan max)
{
    private readonly TimeSpan _first = first;
    private TimeSpan _next = first;

    /// <summary>When the next try is due (<see cref="DateTimeOffset.MinValue"/>: now).</summary>
    public DateTimeOffset RetryAt { get; private set; } = DateTimeOffset.MinValue;

    /// <summary>True when a try may be made at <paramref name="now"/>.</summary>
    public bool Due(DateTimeOffset now) => now >= RetryAt;

    /// <summary>A try failed at <paramref name="now"/>: the next is due after the current delay, which then doubles (capped).</summary>
    public void Failed(DateTimeOffset now)
    {
        RetryAt = now + _next;
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, max.Ticks));
    }

    /// <summary>A try worked: the next failure waits <c>first</c> again.</summary>
    public void Succeeded()
    {
        _next = _first;
        RetryAt = DateTimeOffset.MinValue;
    }

    /// <summary>Makes a try due at once (a new configuration asks for a reopen), keeping the delay reached.</summary>
    public void Now() => RetryAt = DateTimeOffset.MinValue;
}
