using System.Globalization;

namespace ReachProbe.History;

/// <summary>Figures for one firmware (or one week): what a person compares over weeks.</summary>
public sealed record ReportRow
{
    /// <summary>Firmware label ("unknown" when none was known), or the week's Monday (yyyy-MM-dd).</summary>
    public required string Key { get; init; }
    /// <summary>Firmware labels seen in the row (for weeks).</summary>
    public IReadOnlyList<string> Firmware { get; init; } = [];
    /// <summary>Days the agent watched.</summary>
    public double DaysObserved { get; init; }
    /// <summary>Deaf incidents.</summary>
    public int Deaf { get; init; }
    /// <summary>Down incidents.</summary>
    public int Down { get; init; }
    /// <summary>Unresponsive periods that ended with an answer before they could be told deaf or down (switched view).</summary>
    public int Unresponsive { get; init; }
    /// <summary>Incidents by the firmware recorded with each (the attribution the per-firmware table uses).</summary>
    public IReadOnlyDictionary<string, int> IncidentsByFirmware { get; init; } = new Dictionary<string, int>();
    /// <summary>Incidents per week of observation; null below one day observed (a rate over hours would read as hundreds a week).</summary>
    public double? IncidentsPerWeek { get; init; }
    /// <summary>Median incident duration.</summary>
    public TimeSpan? MedianDuration { get; init; }
    /// <summary>Longest incident.</summary>
    public TimeSpan? LongestDuration { get; init; }
    /// <summary>Share of observed time deaf.</summary>
    public double ShareDeaf { get; init; }
    /// <summary>Share of observed time down.</summary>
    public double ShareDown { get; init; }
    /// <summary>Mean time between incidents (observed time / incidents).</summary>
    public TimeSpan? MeanTimeBetweenIncidents { get; init; }
}

/// <summary>Turns the history into per-firmware or per-week figures. Pure: the store's records in, rows out; <see cref="ReportRender"/> shows them.</summary>
public static class HistoryReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Rows per firmware: time is attributed to the firmware current at the time, incidents to the firmware recorded with them.</summary>
    public static List<ReportRow> ByFirmware(IReadOnlyList<IncidentRecord> incidents, IReadOnlyList<FirmwareRecord> firmware, IReadOnlyList<ObservedPeriod> observed,
        DateTimeOffset since, DateTimeOffset until)
    {
        var time = new Dictionary<string, TimeSpan>();
        foreach (var (fw, span) in FirmwareTime(firmware, observed, since, until)) time[fw] = time.GetValueOrDefault(fw) + span;
        var keys = time.Keys.Union(incidents.Select(i => i.Firmware ?? "unknown")).Order(StringComparer.Ordinal);
        return keys.Select(k => Row(k, [k], time.GetValueOrDefault(k), incidents.Where(i => (i.Firmware ?? "unknown") == k).ToList(), until)).ToList();
    }

    /// <summary>Rows per ISO week (Monday, UTC).</summary>
    public static List<ReportRow> ByWeek(IReadOnlyList<IncidentRecord> incidents, IReadOnlyList<FirmwareRecord> firmware, IReadOnlyList<ObservedPeriod> observed,
        DateTimeOffset since, DateTimeOffset until)
    {
        var rows = new List<ReportRow>();
        for (var week = Monday(since); week < until; week = week.AddDays(7))
        {
            var from = week < since ? since : week;
            var to = week.AddDays(7) > until ? until : week.AddDays(7);
            var spans = FirmwareTime(firmware, observed, from, to).ToList();
            var observedTime = spans.Aggregate(TimeSpan.Zero, (a, s) => a + s.Span);
            var inWeek = incidents.Where(i => i.Start >= from && i.Start < to).ToList();
            var labels = spans.Where(s => s.Span > TimeSpan.Zero).Select(s => s.Firmware).Union(inWeek.Select(i => i.Firmware ?? "unknown")).Distinct().Order(StringComparer.Ordinal).ToList();
            rows.Add(Row(week.ToString("yyyy-MM-dd", Inv), labels, observedTime, inWeek, until));
        }
        return rows;
    }

    private static ReportRow Row(string key, IReadOnlyList<string> firmware, TimeSpan observed, List<IncidentRecord> incidents, DateTimeOffset until)
    {
        var durations = incidents.Select(i => (i.End ?? until) - i.Start).Order().ToList();
        TimeSpan? median = durations.Count == 0 ? null
            : durations.Count % 2 == 1 ? durations[durations.Count / 2]
            : (durations[durations.Count / 2 - 1] + durations[durations.Count / 2]) / 2;
        double Share(string state) => observed <= TimeSpan.Zero ? 0
            : incidents.Where(i => i.State == state).Sum(i => ((i.End ?? until) - i.Start).TotalSeconds) / observed.TotalSeconds;
        return new ReportRow
        {
            Key = key,
            Firmware = firmware,
            DaysObserved = observed.TotalDays,
            Deaf = incidents.Count(i => i.State == "deaf"),
            Down = incidents.Count(i => i.State == "down"),
            Unresponsive = incidents.Count(i => i.State == "unresponsive"),
            IncidentsByFirmware = incidents.GroupBy(i => i.Firmware ?? "unknown").ToDictionary(g => g.Key, g => g.Count()),
            IncidentsPerWeek = observed < TimeSpan.FromDays(1) ? null : incidents.Count / (observed.TotalDays / 7),
            MedianDuration = median,
            LongestDuration = durations.Count == 0 ? null : durations[^1],
            ShareDeaf = Share("deaf"),
            ShareDown = Share("down"),
            MeanTimeBetweenIncidents = incidents.Count == 0 ? null : observed / incidents.Count,
        };
    }

    /// <summary>Observed time within [from, to), split by the firmware current at each moment (per target, summed).</summary>
    private static IEnumerable<(string Firmware, TimeSpan Span)> FirmwareTime(IReadOnlyList<FirmwareRecord> firmware, IReadOnlyList<ObservedPeriod> observed, DateTimeOffset from, DateTimeOffset to)
    {
        var targets = firmware.Select(f => f.Target).Distinct().ToList();
        if (targets.Count == 0) targets.Add("");
        foreach (var target in targets)
        {
            var changes = firmware.Where(f => f.Target == target).OrderBy(f => f.Since).ToList();
            foreach (var p in observed)
            {
                var start = p.Start < from ? from : p.Start;
                var end = p.End > to ? to : p.End;
                if (end <= start) continue;
                // Cut [start, end) at each firmware change.
                var cuts = changes.Where(c => c.Since > start && c.Since < end).Select(c => c.Since).Prepend(start).Append(end).ToList();
                for (var i = 0; i + 1 < cuts.Count; i++)
                {
                    var current = changes.LastOrDefault(c => c.Since <= cuts[i])?.Firmware ?? "unknown";
                    yield return (current, cuts[i + 1] - cuts[i]);
                }
            }
        }
    }

    private static DateTimeOffset Monday(DateTimeOffset t)
    {
        var d = new DateTimeOffset(t.UtcDateTime.Date, TimeSpan.Zero);
        return d.AddDays(-(((int)d.DayOfWeek + 6) % 7));
    }
}
