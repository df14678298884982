namespace ReachProbe.Analysis;

/// <summary>A clock that reads packet time: offline analysis drives the verdict engine with it, so a capture replays exactly as it happened.</summary>
public sealed class PacketClock : TimeProvider
{
    /// <summary>The current packet's time, UTC ticks.</summary>
    public long Now { get; set; }

    /// <inheritdoc/>
    public override DateTimeOffset GetUtcNow() => new(Now, TimeSpan.Zero);
}
