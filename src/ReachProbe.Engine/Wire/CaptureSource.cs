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

    /// <summary>
    /// Reads the next frame available now: false at the end of a file, or, live, until more frames arrive. Throws
    /// <see cref="CaptureException"/> when a file is broken (a live capture reports its failure out of band).
    /// </summary>
    bool TryRead(out CapturedFrame frame);

    /// <summary>Completes when a frame may be available; false when no more will come. A file is always ready.</summary>
    ValueTask<bool> WaitToReadAsync(CancellationToken cancellation) => ValueTask.FromResult(true);
}

/// <summary>A capture that cannot be read, with a message fit to show a person (no stack trace needed).</summary>
public sealed class CaptureException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>What to say when libpcap itself cannot be loaded (the one library ReachProbe needs from the system).</summary>
    public const string NoLibpcap = "libpcap is not installed: install it with 'apt-get install libpcap0.8'";
}

/// <summary>A live capture: it can fail while running, and counts what it could not see.</summary>
public interface ILiveSource : ICaptureSource
{
    /// <summary>Why the capture stopped, or null while it runs.</summary>
    string? Error { get; }

    /// <summary>libpcap's counters: received, dropped (buffer), dropped by the interface; null when unreadable.</summary>
    (long Received, long Dropped, long InterfaceDropped)? Statistics { get; }

    /// <summary>Frames dropped because the analysis loop fell behind.</summary>
    long HandoffDropped { get; }

    /// <summary>Opens the capture. Throws <see cref="CaptureException"/> with a clear reason.</summary>
    void Open();
}
