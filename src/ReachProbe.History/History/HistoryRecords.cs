using System.Data;
using System.Data.Common;
using ReachProbe.Verdict;

namespace ReachProbe.History;

/// <summary>One recorded incident.</summary>
/// <param name="Id">Row id.</param>
/// <param name="Target">Target name.</param>
/// <param name="State">"deaf" or "down".</param>
/// <param name="Start">Start.</param>
/// <param name="End">End, null while open.</param>
/// <param name="EndReason">Why it ended (<see cref="Names.Name(IncidentEnd)"/>).</param>
/// <param name="Firmware">Firmware at the time, if known.</param>
/// <param name="Evidence">Counts by evidence kind (kinds never seen during it are absent).</param>
/// <param name="Source">"agent" or "import".</param>
public sealed record IncidentRecord(long Id, string Target, string State, DateTimeOffset Start, DateTimeOffset? End, string EndReason, string? Firmware,
    IReadOnlyDictionary<EvidenceKind, long> Evidence, string Source)
{
    /// <summary>The target's identity (its row in <c>target</c>); <see cref="Target"/> is its name now.</summary>
    public long TargetId { get; init; }

    /// <summary>The agent that recorded it (null: written before agents had names).</summary>
    public string? Agent { get; init; }

    /// <summary>The agent's site when it recorded it, if it had one.</summary>
    public string? Site { get; init; }

    /// <summary>Duration, or null while open.</summary>
    public TimeSpan? Duration => End - Start;

    /// <summary>How many of this kind were seen during it.</summary>
    public long Count(EvidenceKind kind) => Evidence.GetValueOrDefault(kind);
}

/// <summary>A firmware a target was seen with, from a time on.</summary>
public sealed record FirmwareRecord(string Target, string Firmware, DateTimeOffset Since)
{
    /// <summary>The target's identity.</summary>
    public long TargetId { get; init; }
}

/// <summary>A target as the history knows it: one identity across renames and new addresses (by MAC, else address).</summary>
/// <param name="Id">Its row.</param>
/// <param name="Name">Its name now (the last one the agent used).</param>
/// <param name="Ip">Its address now, if known.</param>
/// <param name="Mac">Its MAC, once known.</param>
public sealed record TargetRecord(long Id, string Name, string? Ip, string? Mac);

/// <summary>A period during which one target was watched (by an agent run, or an imported capture).</summary>
public sealed record WatchedPeriod(long Target, DateTimeOffset Start, DateTimeOffset End)
{
    /// <summary>The agent that watched it (null: before agents had names).</summary>
    public string? Agent { get; init; }

    /// <summary>The agent's site then, if it had one.</summary>
    public string? Site { get; init; }
}

/// <summary>A period during which the agent was watching (from a start mark to its stop, or its last sign of life).</summary>
public sealed record ObservedPeriod(DateTimeOffset Start, DateTimeOffset End);

/// <summary>A history database that cannot be used, with a message fit to show a person.</summary>
public sealed class HistoryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Who writes the history: an agent's name (unique in a fleet; the host name unless configured) and, optionally, its
/// site (a hall, a household). Every run, incident and firmware row carries them, so many agents can share one database.
/// </summary>
/// <param name="Name">The agent's name.</param>
/// <param name="Site">Its site, or null.</param>
public sealed record HistoryAgent(string Name, string? Site = null)
{
    /// <summary>This machine's agent with no site: named as the host.</summary>
    public static HistoryAgent Default { get; } = new(Environment.MachineName.ToLowerInvariant());
}

/// <summary>What <see cref="HistoryStore.CopyFrom"/> copied, of how many it read.</summary>
/// <param name="Runs">Runs copied.</param>
/// <param name="Incidents">Incidents copied.</param>
/// <param name="Firmware">Firmware changes copied.</param>
/// <param name="RunsRead">Runs in the source.</param>
/// <param name="IncidentsRead">Incidents in the source.</param>
/// <param name="FirmwareRead">Firmware changes in the source.</param>
public sealed record CopyCounts(int Runs, int Incidents, int Firmware, int RunsRead, int IncidentsRead, int FirmwareRead);
