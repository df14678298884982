namespace ReachProbe.Wire;

/// <summary>One captured frame; <see cref="Data"/> is only valid until the next read.</summary>
public readonly ref struct CapturedFrame(long time, ReadOnlySpan<byte> data, int originalLength)
{
    /// <summary>Capture time, UTC ticks.</summary>
    public long Time { get; } = time;
    /// <summary>The captured bytes (possibly fewer than were on the wire).</summary>
    public ReadOnlySpan<byte> Data { get; } = data;
    /// <summary>Length on the wire.</summary>
    public int OriginalLength { get; } = originalLength;
}

/// <summary>A source of frames: a capture file or a live interface. What sits behind it does not know which.</summary>
public interface ICaptureSource : IDisposable
{
    /// <summary>File path or interface name.</summary>
    string Name { get; }

    /// <summary>Link type of every frame.</summary>
    LinkKind Link { get; }

    /// <summary>Reads the next frame. False at the end. Throws <see cref="CaptureException"/> when the source is broken.</summary>
    bool TryRead(out CapturedFrame frame);
}

/// <summary>A capture that cannot be read, with a message fit to show a person (no stack trace needed).</summary>
public sealed class CaptureException(string message, Exception? inner = null) : Exception(message, inner);
