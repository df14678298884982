using System.Globalization;

namespace ReachProbe.History;

/// <summary>Figures for one firmware (or one week): what a person compares over weeks.</summary>
public sealed record ReportRow
{
    /// <summary>Firmware label ("unknown" when none was known), or the week's Monday (yyyy-MM-dd).</summary>
    public required string Key { get; init; }
    /// <summary>Firmware labels seen in the row (for weeks).</summary>
    public IReadOnlyList<string> Firmware { get; init; } = [];
    /// <summary>False for a week in which no target was watched (and nothing was imported): "not watched", never a clean week.</summary>
    public bool Watched { get; init; } = true;
    /// <summary>Target-days watched: each target's watched time, summed.</summary>
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
    /// <summary>Share of observed time unresponsive.</summary>
    public double ShareUnresponsive { get; init; }
    /// <summary>Mean time between incidents (observed time / incidents).</summary>
    public TimeSpan? MeanTimeBetweenIncidents { get; init; }
    /// <summary>The agents whose watched time or incidents the row holds.</summary>
    public int Agents { get; init; }
    /// <summary>The consoles (targets) whose watched time or incidents the row holds.</summary>
    public int Consoles { get; init; }
    /// <summary>Median time from an incident's start to the target answering again (incidents that ended so).</summary>
    public TimeSpan? MedianTimeToRecover { get; init; }
    /// <summary>Deaf incidents per down one; null with no down incident.</summary>
    public double? DeafDownRatio => Down == 0 ? null : (double)Deaf / Down;
}

/// <summary>What the report is made of: the store's records, and the targets' labels by name (<c>model</c>, <c>room</c> …).</summary>
public sealed record ReportData(IReadOnlyList<IncidentRecord> Incidents, IReadOnlyList<FirmwareRecord> Firmware, IReadOnlyList<WatchedPeriod> Watched,
    IReadOnlyDictionary<string, Dictionary<long, string>> Labels)
{
    /// <summary>The data of one site and/or one agent only (null: all).</summary>
    public ReportData Only(string? site, string? agent) => site is null && agent is null ? this : this with
    {
        Incidents = Incidents.Where(i => (site is null || i.Site == site) && (agent is null || i.Agent == agent)).ToList(),
        Watched = Watched.Where(w => (site is null || w.Site == site) && (agent is null || w.Agent == agent)).ToList(),
    };
}

/// <summary>
/// Turns the history into per-firmware or per-week figures. Pure: the store's records in, rows out; <see cref="ReportRender"/>
/// shows them. Time is counted per target: each target's watched periods, split by the firmware it ran at each moment;
/// an incident's time is the part of it inside its own target's watched time, so no share passes 100 %.
/// </summary>
public static class HistoryReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>A stretch of one target's watched time on one firmware (by one agent, where rows are per agent or site).</summary>
    private readonly record struct Segment(long Target, string Firmware, DateTimeOffset Start, DateTimeOffset End, string? Agent = null, string? Site = null);

    /// <summary>The dimensions rows may be keyed by (<c>--by</c>), besides <c>label:NAME</c>.</summary>
    public static readonly IReadOnlyList<string> Dimensions = ["firmware", "model", "site", "agent", "week"];

    /// <summary>Rows per firmware: time by the firmware each target ran at the time, incidents counted by the firmware recorded with them.</summary>
    public static List<ReportRow> ByFirmware(IReadOnlyList<IncidentRecord> incidents, IReadOnlyList<FirmwareRecord> firmware, IReadOnlyList<WatchedPeriod> watched,
        DateTimeOffset since, DateTimeOffset until) =>
        By(["firmware"], new ReportData(incidents, firmware, watched, new Dictionary<string, Dictionary<long, string>>()), since, until);

    /// <summary>
    /// Rows per combination of <paramref name="dimensions"/> (<see cref="Dimensions"/> or <c>label:NAME</c>; <c>model</c>
    /// is the <c>model</c> label): a row's key is its values joined by " / ". Time is per target as everywhere; with
    /// <c>site</c> or <c>agent</c> among them a console two agents watched counts in each one's rows, otherwise its time
    /// counts once and an incident both agents saw (the same state, overlapping) counts once.
    /// </summary>
    public static List<ReportRow> By(IReadOnlyList<string> dimensions, ReportData data, DateTimeOffset since, DateTimeOffset until)
    {
        var perAgent = dimensions.Any(d => d is "site" or "agent");
        var weekly = dimensions.Contains("week");
        var segments = Segments(data.Firmware, data.Watched, since, until, perAgent);
        if (weekly) segments = [.. segments.SelectMany(ByWeekOf)];
        var incidents = perAgent ? data.Incidents : SeenOnce(data.Incidents);
        string Label(string name, long target) => data.Labels.TryGetValue(name, out var values) && values.TryGetValue(target, out var v) ? v : NoLabel;
        string Value(string dimension, long target, string firmware, string? site, string? agent, DateTimeOffset at) => dimension switch
        {
            "firmware" => firmware,
            "site" => site ?? NoLabel,
            "agent" => agent ?? NoLabel,
            "week" => Monday(at).ToString("yyyy-MM-dd", Inv),
            "model" => Label("model", target),
            _ => Label(dimension["label:".Length..], target),
        };
        string KeyOf(Segment g) => dimensions.Count == 1 ? Value(dimensions[0], g.Target, g.Firmware, g.Site, g.Agent, g.Start)
            : string.Join(" / ", dimensions.Select(d => Value(d, g.Target, g.Firmware, g.Site, g.Agent, g.Start)));
        string KeyOfIncident(IncidentRecord i) => dimensions.Count == 1 ? Value(dimensions[0], i.TargetId, i.Firmware ?? "unknown", i.Site, i.Agent, i.Start)
            : string.Join(" / ", dimensions.Select(d => Value(d, i.TargetId, i.Firmware ?? "unknown", i.Site, i.Agent, i.Start)));
        var bySegment = segments.GroupBy(KeyOf).ToDictionary(g => g.Key, g => g.ToList());
        var byIncident = incidents.GroupBy(KeyOfIncident).ToDictionary(g => g.Key, g => g.ToList());
        var ofTarget = Timeline.Of(incidents, until);
        return bySegment.Keys.Union(byIncident.Keys).Order(StringComparer.Ordinal).Select(k =>
        {
            var mine = bySegment.GetValueOrDefault(k) ?? [];
            var counted = byIncident.GetValueOrDefault(k) ?? [];
            var seen = mine.Select(g => g.Firmware).Union(counted.Select(i => i.Firmware ?? "unknown")).Distinct().Order(StringComparer.Ordinal).ToList();
            return Row(k, seen, mine, ofTarget, counted, until);
        }).ToList();
    }

    /// <summary>
    /// The incidents with each one counted once: a console two agents watched (one device by its MAC) has its incident
    /// recorded by both; the second record of the same state that overlaps the first is left out.
    /// </summary>
    private static List<IncidentRecord> SeenOnce(IReadOnlyList<IncidentRecord> incidents)
    {
        static int Order(IncidentRecord a, IncidentRecord b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.Id.CompareTo(b.Id);
        var ordered = incidents as List<IncidentRecord> ?? [.. incidents];
        // The store gives them oldest first already; sorted (a copy) only when they are not.
        for (var k = 1; k < ordered.Count; k++)
            if (Order(ordered[k - 1], ordered[k]) > 0)
            {
                ordered = [.. ordered];
                ordered.Sort(Order);
                break;
            }
        var kept = new List<IncidentRecord>(ordered.Count);
        var last = new Dictionary<(long, string), IncidentRecord>();
        foreach (var i in ordered)
        {
            if (last.TryGetValue((i.TargetId, i.State), out var before) && before.Agent != i.Agent && i.Start <= (before.End ?? DateTimeOffset.MaxValue)) continue;
            last[(i.TargetId, i.State)] = i;
            kept.Add(i);
        }
        return kept;
    }

    /// <summary>A segment cut at the Mondays it spans.</summary>
    private static IEnumerable<Segment> ByWeekOf(Segment g)
    {
        var start = g.Start;
        while (start < g.End)
        {
            var next = Monday(start).AddDays(7);
            var end = next < g.End ? next : g.End;
            yield return g with { Start = start, End = end };
            start = end;
        }
    }

    /// <summary>The key of the row of targets that do not carry the label.</summary>
    public const string NoLabel = "(none)";

    /// <summary>
    /// Rows per value of one of the targets' own labels (<c>room</c>: living, bedroom …): each row the watched time and
    /// incidents of the targets carrying that value (as they were last watched), with the firmware they ran;
    /// targets without the label in one row of their own (<see cref="NoLabel"/>).
    /// </summary>
    public static List<ReportRow> ByLabel(IReadOnlyDictionary<long, string> values, IReadOnlyList<IncidentRecord> incidents, IReadOnlyList<FirmwareRecord> firmware,
        IReadOnlyList<WatchedPeriod> watched, DateTimeOffset since, DateTimeOffset until) =>
        By(["label:x"], new ReportData(incidents, firmware, watched, new Dictionary<string, Dictionary<long, string>> { ["x"] = values.ToDictionary() }), since, until);

    /// <summary>Rows per ISO week (Monday, UTC); a week no target was watched in is marked so (<see cref="ReportRow.Watched"/>).</summary>
    /// <param name="incidents">The incidents.</param>
    /// <param name="firmware">Firmware changes.</param>
    /// <param name="watched">Watched periods.</param>
    /// <param name="since">Start of the report.</param>
    /// <param name="until">End of the report.</param>
    /// <param name="only">One firmware only: its time and the incidents recorded with it (a week without either is not watched on it).</param>
    public static List<ReportRow> ByWeek(IReadOnlyList<IncidentRecord> incidents, IReadOnlyList<FirmwareRecord> firmware, IReadOnlyList<WatchedPeriod> watched,
        DateTimeOffset since, DateTimeOffset until, string? only = null)
    {
        // The watched time once, cut at each Monday; the incidents by the week they began in.
        var ofTarget = Timeline.Of(incidents, until);
        var segments = Segments(firmware, watched, since, until, perAgent: false).Where(g => only is null || g.Firmware == only).SelectMany(ByWeekOf)
            .GroupBy(g => Monday(g.Start)).ToDictionary(g => g.Key, g => g.ToList());
        var began = incidents.Where(i => i.Start >= since && i.Start < until && (only is null || (i.Firmware ?? "unknown") == only))
            .GroupBy(i => Monday(i.Start)).ToDictionary(g => g.Key, g => g.ToList());
        var rows = new List<ReportRow>();
        for (var week = Monday(since); week < until; week = week.AddDays(7))
        {
            var mine = segments.GetValueOrDefault(week) ?? [];
            var inWeek = began.GetValueOrDefault(week) ?? [];
            var labels = mine.Select(s => s.Firmware).Union(inWeek.Select(i => i.Firmware ?? "unknown")).Distinct().Order(StringComparer.Ordinal).ToList();
            rows.Add(Row(week.ToString("yyyy-MM-dd", Inv), labels, mine, ofTarget, inWeek, until));
        }
        return rows;
    }

    /// <param name="key">The row's key.</param>
    /// <param name="firmware">Its firmware labels.</param>
    /// <param name="segments">The watched time the row covers.</param>
    /// <param name="all">Every incident, by target (their time inside <paramref name="segments"/> is the row's).</param>
    /// <param name="counted">The incidents the row counts.</param>
    /// <param name="until">The end of the report (for open incidents).</param>
    private static ReportRow Row(string key, IReadOnlyList<string> firmware, List<Segment> segments, IReadOnlyDictionary<long, Timeline> all, List<IncidentRecord> counted,
        DateTimeOffset until)
    {
        var observed = segments.Aggregate(TimeSpan.Zero, (a, g) => a + (g.End - g.Start));
        var durations = counted.Select(i => (i.End ?? until) - i.Start).Order().ToList();
        var median = Median(durations);
        // Each state's time inside the row's watched time.
        var (deaf, down, unresponsive) = (0.0, 0.0, 0.0);
        foreach (var g in segments)
            if (all.TryGetValue(g.Target, out var timeline)) timeline.AddOverlap(g.Start, g.End, ref deaf, ref down, ref unresponsive);
        double Share(double seconds) => observed <= TimeSpan.Zero ? 0 : Math.Min(1, seconds / observed.TotalSeconds);
        return new ReportRow
        {
            Key = key,
            Firmware = firmware,
            Watched = observed > TimeSpan.Zero || counted.Count > 0,
            DaysObserved = observed.TotalDays,
            Deaf = counted.Count(i => i.State == "deaf"),
            Down = counted.Count(i => i.State == "down"),
            Unresponsive = counted.Count(i => i.State == "unresponsive"),
            IncidentsByFirmware = counted.GroupBy(i => i.Firmware ?? "unknown").ToDictionary(g => g.Key, g => g.Count()),
            IncidentsPerWeek = observed < TimeSpan.FromDays(1) ? null : counted.Count / (observed.TotalDays / 7),
            MedianDuration = median,
            LongestDuration = durations.Count == 0 ? null : durations[^1],
            ShareDeaf = Share(deaf),
            ShareDown = Share(down),
            ShareUnresponsive = Share(unresponsive),
            MeanTimeBetweenIncidents = counted.Count == 0 || observed <= TimeSpan.Zero ? null : observed / counted.Count,
            Agents = segments.Select(g => g.Agent).Concat(counted.Select(i => i.Agent)).OfType<string>().Distinct().Count(),
            Consoles = segments.Select(g => g.Target).Concat(counted.Select(i => i.TargetId)).Distinct().Count(),
            MedianTimeToRecover = Median(counted.Where(i => i.End is not null && i.EndReason == "recovered").Select(i => i.End!.Value - i.Start).Order().ToList()),
        };
    }

    /// <summary>
    /// One target's incidents by start, with the latest end so far at each (an open one ends at the report's end), so
    /// the incidents that overlap a stretch of time are found by a binary search rather than a walk through them all.
    /// </summary>
    private sealed class Timeline
    {
        private readonly List<(long Start, long End, string State)> _items = [];
        private long[] _latestEnd = [];

        public static Dictionary<long, Timeline> Of(IEnumerable<IncidentRecord> incidents, DateTimeOffset until)
        {
            var timelines = new Dictionary<long, Timeline>();
            foreach (var i in incidents)
            {
                if (!timelines.TryGetValue(i.TargetId, out var t)) timelines[i.TargetId] = t = new Timeline();
                t._items.Add((i.Start.UtcTicks, (i.End ?? until).UtcTicks, i.State));
            }
            foreach (var t in timelines.Values)
            {
                t._items.Sort((a, b) => a.Start.CompareTo(b.Start));
                t._latestEnd = new long[t._items.Count];
                var latest = long.MinValue;
                for (var k = 0; k < t._items.Count; k++) t._latestEnd[k] = latest = Math.Max(latest, t._items[k].End);
            }
            return timelines;
        }

        /// <summary>Adds the seconds each state's incidents spent inside [from, to).</summary>
        public void AddOverlap(DateTimeOffset from, DateTimeOffset to, ref double deaf, ref double down, ref double unresponsive)
        {
            var (f, t) = (from.UtcTicks, to.UtcTicks);
            // The first incident that may reach into the stretch: every one before it ended before the stretch began.
            int lo = 0, hi = _items.Count;
            while (lo < hi)
            {
                var mid = (lo + hi) / 2;
                if (_latestEnd[mid] > f) hi = mid;
                else lo = mid + 1;
            }
            for (var k = lo; k < _items.Count && _items[k].Start < t; k++)
            {
                var (start, end, state) = _items[k];
                var seconds = (Math.Min(end, t) - Math.Max(start, f)) / (double)TimeSpan.TicksPerSecond;
                if (seconds <= 0) continue;
                switch (state)
                {
                    case "deaf": deaf += seconds; break;
                    case "down": down += seconds; break;
                    case "unresponsive": unresponsive += seconds; break;
                }
            }
        }
    }

    private static TimeSpan? Median(List<TimeSpan> sorted) => sorted.Count == 0 ? null
        : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2]
        : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;

    /// <summary>
    /// Each target's watched time within [from, to) — its periods merged, so an import over a run counts once — cut at
    /// its firmware changes.
    /// </summary>
    private static List<Segment> Segments(IReadOnlyList<FirmwareRecord> firmware, IReadOnlyList<WatchedPeriod> watched, DateTimeOffset from, DateTimeOffset to, bool perAgent)
    {
        var list = new List<Segment>();
        // Each target's firmware changes by time (a stable sort: of two at one time, the one recorded last holds).
        var changesOf = firmware.GroupBy(f => f.TargetId).ToDictionary(g => g.Key, g => g.OrderBy(f => f.Since).ToList());
        // Each target's periods (each agent's, where rows are per agent), with the first agent and site seen.
        var groups = new Dictionary<(long Target, string? Agent, string? Site), (List<(DateTimeOffset Start, DateTimeOffset End)> Periods, string? Agent, string? Site)>();
        foreach (var w in watched)
        {
            var key = perAgent ? (w.Target, w.Agent, w.Site) : (w.Target, null, null);
            if (!groups.TryGetValue(key, out var g)) groups[key] = g = ([], w.Agent, w.Site);
            g.Periods.Add((w.Start, w.End));
        }
        foreach (var (key, (periods, firstAgent, firstSite)) in groups)
        {
            var changes = changesOf.GetValueOrDefault(key.Target) ?? [];
            var (agent, site) = (key.Agent ?? firstAgent, key.Site ?? firstSite);
            foreach (var (pStart, pEnd) in Merge(periods))
            {
                var start = pStart < from ? from : pStart;
                var end = pEnd > to ? to : pEnd;
                if (end <= start) continue;
                // The firmware current at the start (the last change at or before it), then each change inside.
                var k = 0;
                while (k < changes.Count && changes[k].Since <= start) k++;
                var current = k > 0 ? changes[k - 1].Firmware : "unknown";
                var at = start;
                for (; k < changes.Count && changes[k].Since < end; k++)
                {
                    if (changes[k].Since > at) list.Add(new Segment(key.Target, current, at, changes[k].Since, agent, site));
                    (current, at) = (changes[k].Firmware, changes[k].Since > at ? changes[k].Since : at);
                }
                list.Add(new Segment(key.Target, current, at, end, agent, site));
            }
        }
        return list;
    }

    private static List<(DateTimeOffset Start, DateTimeOffset End)> Merge(IEnumerable<(DateTimeOffset Start, DateTimeOffset End)> periods)
    {
        var merged = new List<(DateTimeOffset Start, DateTimeOffset End)>();
        foreach (var p in periods.OrderBy(p => p.Start))
        {
            if (merged.Count > 0 && p.Start <= merged[^1].End)
            {
                if (p.End > merged[^1].End) merged[^1] = (merged[^1].Start, p.End);
            }
            else merged.Add(p);
        }
        return merged;
    }

    private static DateTimeOffset Monday(DateTimeOffset t)
    {
        var d = new DateTimeOffset(t.UtcDateTime.Date, TimeSpan.Zero);
        return d.AddDays(-(((int)d.DayOfWeek + 6) % 7));
    }
}
