namespace ReachProbe.Testing;

/// <summary>An incident planted in a generated capture: what <c>analyze</c> must find.</summary>
/// <param name="TargetIp">The host.</param>
/// <param name="State">"deaf" or "down".</param>
/// <param name="StartSeconds">Offset from capture start of the first unanswered thing.</param>
/// <param name="EndSeconds">Offset of the first answer after it, or null if still going at the end.</param>
public sealed record PlantedIncident(string TargetIp, string State, double StartSeconds, double? EndSeconds);

/// <summary>A generated capture: frames at offsets from <see cref="Start"/>, and the truth about it.</summary>
public sealed class Scenario(string name)
{
    private readonly List<(double At, int Order, byte[] Frame)> _frames = [];

    /// <summary>Name, used for file names.</summary>
    public string Name { get; } = name;

    /// <summary>Wall-clock time of offset 0 (the first frame should be at or after it).</summary>
    public DateTime Start { get; init; } = new(2026, 3, 14, 20, 0, 0, DateTimeKind.Utc);

    /// <summary>What must be found.</summary>
    public List<PlantedIncident> Planted { get; } = [];

    /// <summary>Frames so far.</summary>
    public int Count => _frames.Count;

    /// <summary>Adds a frame at an offset in seconds.</summary>
    public void Add(double at, byte[] frame) => _frames.Add((at, _frames.Count, frame));

    /// <summary>The frames in time order.</summary>
    public IEnumerable<(double At, byte[] Frame)> Frames() => _frames.OrderBy(f => f.At).ThenBy(f => f.Order).Select(f => (f.At, f.Frame));

    /// <summary>Writes the frames in time order as a pcap file and returns its path.</summary>
    public string WriteTo(string path)
    {
        using var w = new PcapWriter(path);
        foreach (var (at, _, frame) in _frames.OrderBy(f => f.At).ThenBy(f => f.Order))
            w.Write(Start.AddTicks((long)Math.Round(at * TimeSpan.TicksPerSecond)), frame);
        return path;
    }
}
