using System.Globalization;
using System.Text;
using System.Text.Json;

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

/// <summary>Turns the history into per-firmware or per-week figures. Pure: the store's records in, rows out.</summary>
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

    /// <summary>A plain table.</summary>
    public static string Table(IReadOnlyList<ReportRow> rows, string keyTitle)
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(Inv, $"{keyTitle,-12} {"days",7} {"deaf",5} {"down",5} {"unresp",6} {"per week",9} {"median",9} {"longest",9} {"deaf %",8} {"down %",8} {"MTBI",9}"));
        foreach (var r in rows)
        {
            var line = string.Create(Inv,
                $"{r.Key,-12} {r.DaysObserved,7:0.0} {r.Deaf,5} {r.Down,5} {r.Unresponsive,6} {(r.IncidentsPerWeek is { } w ? w.ToString("0.00", Inv) : "-"),9} {Dur(r.MedianDuration),9} {Dur(r.LongestDuration),9} {r.ShareDeaf * 100,8:0.000} {r.ShareDown * 100,8:0.000} {Dur(r.MeanTimeBetweenIncidents),9}");
            sb.AppendLine(keyTitle == "week" ? line + "  " + string.Join(", ", r.Firmware) : line);
        }
        return sb.ToString();
    }

    /// <summary>Durations as 45s, 30m, 2.5h, 3.5d.</summary>
    public static string Dur(TimeSpan? t) => t switch
    {
        null => "-",
        { TotalSeconds: < 120 } s => s.TotalSeconds.ToString("0", Inv) + "s",
        { TotalMinutes: < 120 } m => m.TotalMinutes.ToString("0", Inv) + "m",
        { TotalHours: < 48 } h => h.TotalHours.ToString("0.0", Inv) + "h",
        var d => d.Value.TotalDays.ToString("0.0", Inv) + "d",
    };

    /// <summary>JSON with the rows' figures in base units (seconds, fractions).</summary>
    public static string Json(IReadOnlyList<ReportRow> rows, string by, DateTimeOffset since, DateTimeOffset until)
    {
        using var ms = new MemoryStream();
        using (var j = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            j.WriteStartObject();
            j.WriteString("by", by);
            j.WriteString("since", since.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", Inv));
            j.WriteString("until", until.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", Inv));
            j.WriteStartArray("rows");
            foreach (var r in rows)
            {
                j.WriteStartObject();
                j.WriteString(by == "week" ? "week" : "firmware", r.Key);
                j.WriteStartArray("firmwareSeen");
                foreach (var f in r.Firmware) j.WriteStringValue(f);
                j.WriteEndArray();
                j.WriteNumber("daysObserved", Math.Round(r.DaysObserved, 6));
                j.WriteNumber("deaf", r.Deaf);
                j.WriteNumber("down", r.Down);
                j.WriteNumber("unresponsive", r.Unresponsive);
                Num(j, "incidentsPerWeek", r.IncidentsPerWeek);
                Num(j, "medianDurationSeconds", r.MedianDuration?.TotalSeconds);
                Num(j, "longestDurationSeconds", r.LongestDuration?.TotalSeconds);
                j.WriteNumber("shareDeaf", Math.Round(r.ShareDeaf, 9));
                j.WriteNumber("shareDown", Math.Round(r.ShareDown, 9));
                Num(j, "meanTimeBetweenIncidentsSeconds", r.MeanTimeBetweenIncidents?.TotalSeconds);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void Num(Utf8JsonWriter j, string name, double? v)
    {
        if (v is { } x) j.WriteNumber(name, Math.Round(x, 6));
        else j.WriteNull(name);
    }

    private static readonly string[] Palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"];

    /// <summary>An HTML page: a bar chart of incidents per week coloured by firmware, and the per-firmware table.</summary>
    public static string Html(IReadOnlyList<ReportRow> weeks, IReadOnlyList<ReportRow> firmware, string title)
    {
        var colours = firmware.Select((r, i) => (r.Key, Palette[i % Palette.Length])).ToDictionary(x => x.Key, x => x.Item2);
        const int barWidth = 36, gap = 12, height = 220, top = 20, left = 40;
        var max = Math.Max(1, weeks.Max(w => w.Deaf + w.Down));
        var width = left + weeks.Count * (barWidth + gap) + 20;
        var svg = new StringBuilder();
        svg.Append(string.Create(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height + top + 60}\" font-family=\"sans-serif\" font-size=\"11\">"));
        for (var v = 0; v <= max; v += Math.Max(1, max / 5))
        {
            var y = top + height - v * height / max;
            svg.Append(string.Create(Inv, $"<line x1=\"{left}\" x2=\"{width - 10}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#ddd\"/><text x=\"{left - 6}\" y=\"{y + 4}\" text-anchor=\"end\">{v}</text>"));
        }
        for (var i = 0; i < weeks.Count; i++)
        {
            var w = weeks[i];
            var x = left + i * (barWidth + gap) + gap / 2;
            var n = w.Deaf + w.Down;
            var barHeight = n * height / max;
            // Each incident is coloured by the firmware recorded with it, as the table counts it; the band under the bar
            // shows the week's known firmware even when there was no incident.
            var y = top + height;
            svg.Append(string.Create(Inv, $"<g><title>{w.Key}: {w.Deaf} deaf, {w.Down} down ({Esc(string.Join(", ", w.Firmware))})</title>"));
            foreach (var (fw, count) in w.IncidentsByFirmware.OrderBy(k => k.Key, StringComparer.Ordinal))
            {
                var h = count * height / max;
                y -= h;
                svg.Append(string.Create(Inv, $"<rect x=\"{x}\" y=\"{y}\" width=\"{barWidth}\" height=\"{h}\" fill=\"{colours.GetValueOrDefault(fw, "#999")}\"><title>{count} incident(s) on {Esc(fw)}</title></rect>"));
            }
            svg.Append("</g>");
            var known = w.Firmware.Where(f => f != "unknown").ToList();
            var colour = colours.GetValueOrDefault(known.Count > 0 ? known[^1] : "unknown", "#999");
            if (n > 0) svg.Append(string.Create(Inv, $"<text x=\"{x + barWidth / 2}\" y=\"{top + height - barHeight - 4}\" text-anchor=\"middle\">{n}</text>"));
            svg.Append(string.Create(Inv, $"<text x=\"{x + barWidth / 2}\" y=\"{top + height + 14}\" text-anchor=\"end\" transform=\"rotate(-45 {x + barWidth / 2} {top + height + 14})\">{w.Key[5..]}</text>"));
            // A thin band under the bar shows the firmware of the week even when there was no incident.
            svg.Append(string.Create(Inv, $"<rect x=\"{x}\" y=\"{top + height + 1}\" width=\"{barWidth}\" height=\"4\" fill=\"{colour}\"/>"));
        }
        svg.Append("</svg>");
        var legend = string.Concat(colours.Select(c => $"<span style=\"display:inline-block;margin-right:1em\"><span style=\"display:inline-block;width:12px;height:12px;background:{c.Value}\"></span> {Esc(c.Key)}</span>"));
        var rows = string.Concat(firmware.Select(r => string.Create(Inv,
            $"<tr><td>{Esc(r.Key)}</td><td>{r.DaysObserved:0.0}</td><td>{r.Deaf}</td><td>{r.Down}</td><td>{r.Unresponsive}</td><td>{(r.IncidentsPerWeek is { } w ? w.ToString("0.00", Inv) : "-")}</td><td>{Dur(r.MedianDuration)}</td><td>{Dur(r.LongestDuration)}</td><td>{r.ShareDeaf * 100:0.000} %</td><td>{r.ShareDown * 100:0.000} %</td><td>{Dur(r.MeanTimeBetweenIncidents)}</td></tr>")));
        return $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{{Esc(title)}}</title>
            <style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}</style></head>
            <body><h1>{{Esc(title)}}</h1>
            <h2>Incidents per week, coloured by firmware</h2>
            <div>{{legend}}</div>
            {{svg}}
            <h2>By firmware</h2>
            <table><tr><th>firmware</th><th>days observed</th><th>deaf</th><th>down</th><th>unresponsive</th><th>per week</th><th>median</th><th>longest</th><th>time deaf</th><th>time down</th><th>MTBI</th></tr>
            {{rows}}
            </table></body></html>
            """;
    }

    private static string Esc(string s) => System.Net.WebUtility.HtmlEncode(s);
}
