using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using ReachProbe.Verdict;

namespace ReachProbe.History;

/// <summary>One firmware's weeks, for its small chart in the HTML page.</summary>
/// <param name="Firmware">The firmware.</param>
/// <param name="Weeks">Its rows per week (<see cref="HistoryReport.ByWeek"/> with <c>only</c>).</param>
public sealed record FirmwareWeeks(string Firmware, IReadOnlyList<ReportRow> Weeks);

/// <summary>Shows <see cref="HistoryReport"/>'s figures: a plain table, JSON, an HTML page, the list of incidents. Figures are never computed here.</summary>
public static class ReportRender
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>What a week nobody watched says, in every form of the report.</summary>
    public const string NotWatched = "not watched";

    /// <summary>A plain table; a week nobody watched says so rather than look clean.</summary>
    /// <param name="rows">The rows.</param>
    /// <param name="keyTitle">What the rows are keyed by (firmware, week, site / firmware …).</param>
    /// <param name="fleet">Also the agents and consoles of each row (a history more than one agent wrote).</param>
    public static string Table(IReadOnlyList<ReportRow> rows, string keyTitle, bool fleet = false)
    {
        var sb = new StringBuilder();
        var width = Math.Max(12, rows.Count == 0 ? keyTitle.Length : Math.Max(keyTitle.Length, rows.Max(r => r.Key.Length)));
        var who = fleet ? string.Create(Inv, $" {"agents",6} {"consoles",8}") : "";
        sb.AppendLine(string.Create(Inv, $"{keyTitle.PadRight(width)}{who} {"watched",7} {"deaf",5} {"down",5} {"unresp",6} {"per week",9} {"median",9} {"longest",9} {"deaf %",8} {"down %",8} {"MTBI",9} {"deaf:down",9} {"recover",8}"));
        foreach (var r in rows)
        {
            if (!r.Watched)
            {
                sb.AppendLine($"{r.Key.PadRight(width)} {NotWatched}");
                continue;
            }
            var counts = fleet ? string.Create(Inv, $" {r.Agents,6} {r.Consoles,8}") : "";
            var line = string.Create(Inv,
                $"{r.Key.PadRight(width)}{counts} {Dur(TimeSpan.FromDays(r.DaysObserved)),7} {r.Deaf,5} {r.Down,5} {r.Unresponsive,6} {(r.IncidentsPerWeek is { } w ? w.ToString("0.00", Inv) : "-"),9} {Dur(r.MedianDuration),9} {Dur(r.LongestDuration),9} {r.ShareDeaf * 100,8:0.000} {r.ShareDown * 100,8:0.000} {Dur(r.MeanTimeBetweenIncidents),9} {(r.DeafDownRatio is { } q ? q.ToString("0.00", Inv) : "-"),9} {Dur(r.MedianTimeToRecover),8}");
            // Rows not keyed by firmware say which firmware their time ran on.
            sb.AppendLine(!keyTitle.Contains("firmware", StringComparison.Ordinal) ? line + "  " + string.Join(", ", r.Firmware) : line);
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

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", Inv);

    private static string When(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", Inv);

    /// <summary>JSON with the rows' figures in base units (seconds, fractions); System.Text.Json's source generator (<see cref="ReportJsonContext"/>).</summary>
    public static string Json(IReadOnlyList<ReportRow> rows, string by, DateTimeOffset since, DateTimeOffset until)
    {
        static double? R(double? v) => v is { } x ? Math.Round(x, 6) : null;
        var report = new JsonHistoryReport(by, Iso(since), Iso(until),
            rows.Select(r => new JsonHistoryRow(by == "week" ? r.Key : null, by == "firmware" ? r.Key : null, by.StartsWith("label:", StringComparison.Ordinal) ? r.Key : null, r.Key, r.Watched, r.Firmware, Math.Round(r.DaysObserved, 6), r.Deaf, r.Down, r.Unresponsive,
                R(r.IncidentsPerWeek), R(r.MedianDuration?.TotalSeconds), R(r.LongestDuration?.TotalSeconds), Math.Round(r.ShareDeaf, 9), Math.Round(r.ShareDown, 9),
                Math.Round(r.ShareUnresponsive, 9), R(r.MeanTimeBetweenIncidents?.TotalSeconds), r.Agents, r.Consoles, R(r.DeafDownRatio), R(r.MedianTimeToRecover?.TotalSeconds))).ToList());
        return System.Text.Json.JsonSerializer.Serialize(report, ReportJsonContext.Default.JsonHistoryReport);
    }

    /// <summary>The evidence of an incident in a line: "probe_unanswered 12, frame_from_target 40" (largest first).</summary>
    public static string Evidence(IncidentRecord i) =>
        i.Evidence.Count == 0 ? "-" : string.Join(", ", i.Evidence.OrderByDescending(e => e.Value).ThenBy(e => e.Key).Select(e => $"{e.Key.Info().Name} {e.Value}"));

    /// <summary>The incidents, one a line: target, firmware, state, start, end, duration, how it ended, evidence.</summary>
    public static string IncidentTable(IReadOnlyList<IncidentRecord> incidents, DateTimeOffset until)
    {
        var sb = new StringBuilder();
        var width = Math.Max(6, incidents.Count == 0 ? 0 : incidents.Max(i => i.Target.Length));
        // A history more than one agent wrote says which agent (and site) saw each incident.
        var fleet = incidents.Select(i => i.Agent).Distinct().Count() > 1;
        var agentWidth = fleet ? incidents.Max(i => Where(i).Length) : 0;
        sb.AppendLine($"{"target".PadRight(width)} {(fleet ? "agent (site)".PadRight(agentWidth) + " " : "")}{"firmware",-10} {"state",-12} {"start (UTC)",-19} {"end (UTC)",-19} {"duration",8} {"ended",-13} evidence");
        foreach (var i in incidents)
            sb.AppendLine($"{i.Target.PadRight(width)} {(fleet ? Where(i).PadRight(agentWidth) + " " : "")}{i.Firmware ?? "unknown",-10} {i.State,-12} {When(i.Start),-19} {(i.End is { } e ? When(e) : "open"),-19} {Dur((i.End ?? until) - i.Start),8} {i.EndReason,-13} {Evidence(i)}");
        return sb.ToString();
    }

    private static string Where(IncidentRecord i) => (i.Agent ?? "-") + (i.Site is { } site ? $" ({site})" : "");

    /// <summary>The incidents as JSON (times ISO 8601 UTC, durations in seconds, evidence by name).</summary>
    public static string IncidentJson(IReadOnlyList<IncidentRecord> incidents, DateTimeOffset since, DateTimeOffset until)
    {
        var list = new JsonIncidentList(Iso(since), Iso(until), incidents.Select(i => new JsonIncident(i.Target, i.Firmware, i.State, Iso(i.Start), i.End is { } e ? Iso(e) : null,
            Math.Round(((i.End ?? until) - i.Start).TotalSeconds, 3), i.EndReason, i.Source, i.Evidence.OrderBy(x => x.Key).ToDictionary(x => x.Key.Info().Name, x => x.Value), i.Agent, i.Site)).ToList());
        return System.Text.Json.JsonSerializer.Serialize(list, ReportJsonContext.Default.JsonIncidentList);
    }

    /// <summary>The incidents as an HTML page (a table), for <c>report --incidents --html</c>.</summary>
    public static string IncidentHtml(IReadOnlyList<IncidentRecord> incidents, DateTimeOffset until, string title)
    {
        var rows = string.Concat(incidents.Select(i =>
            $"<tr><td>{Esc(i.Target)}</td><td>{Esc(i.Firmware ?? "unknown")}</td><td><span class=\"swatch\" style=\"background:{Colour(i.State)}\"></span> {Esc(i.State)}</td><td>{When(i.Start)}</td><td>{(i.End is { } e ? When(e) : "open")}</td><td>{Dur((i.End ?? until) - i.Start)}</td><td>{Esc(i.EndReason)}</td><td>{Esc(Evidence(i))}</td></tr>"));
        return Page(title, $"""
            <h2>Incidents ({incidents.Count})</h2>
            <table><tr><th>target</th><th>firmware</th><th>state</th><th>start (UTC)</th><th>end (UTC)</th><th>duration</th><th>ended</th><th>evidence</th></tr>
            {rows}
            </table>
            """);
    }

    /// <summary>The states a chart stacks, bottom to top, with their fixed colours (Okabe–Ito: told apart with any colour vision).</summary>
    public static IReadOnlyList<(string State, string Colour)> StateColours { get; } = [("deaf", "#D55E00"), ("down", "#0072B2"), ("unresponsive", "#009E73")];

    private static string Colour(string state) => StateColours.FirstOrDefault(c => c.State == state).Colour ?? "#999999";

    private static int Count(ReportRow r, string state) => state switch { "deaf" => r.Deaf, "down" => r.Down, _ => r.Unresponsive };

    /// <summary>The plot's geometry, shared by every chart of a page so that their bars compare.</summary>
    private sealed record Plot(int Weeks, int Top, int Tick)
    {
        public const int Left = 48, Right = 12, TopPad = 26, Height = 160, Bottom = 56, PageWidth = 1180;
        public int Bar => Math.Clamp((PageWidth - Left - Right) / Math.Max(1, Weeks) - 3, 4, 36);
        public int Pitch => Bar + 3;
        public int Width => Left + Weeks * Pitch + Right;
        public double PerIncident => (double)Height / Top;
    }

    /// <summary>
    /// An HTML page: per firmware a small chart of incidents per week stacked by state (deaf, down, unresponsive, in
    /// fixed colours with a legend), all on one scale; weeks not watched on that firmware hatched; the per-firmware table.
    /// Every bar carries its week, state and count (<c>data-*</c>) so a browser test can check its height.
    /// </summary>
    public static string Html(IReadOnlyList<FirmwareWeeks> charts, IReadOnlyList<ReportRow> firmware, string title)
    {
        var weeks = charts.Count == 0 ? 0 : charts.Max(c => c.Weeks.Count);
        var most = charts.SelectMany(c => c.Weeks).Select(w => w.Deaf + w.Down + w.Unresponsive).DefaultIfEmpty(0).Max();
        var step = most <= 5 ? 1 : (int)Math.Ceiling(most / 5.0);
        var plot = new Plot(weeks, Math.Max(1, (int)Math.Ceiling(Math.Max(1, most) / (double)step) * step), step);
        var legend = string.Concat(StateColours.Select(c => $"<span class=\"key\"><span class=\"swatch\" style=\"background:{c.Colour}\"></span> {c.State}</span>"))
            + "<span class=\"key\"><svg width=\"12\" height=\"12\"><rect width=\"12\" height=\"12\" fill=\"url(#hatch)\" stroke=\"#bbb\"/></svg> not watched on that firmware</span>";
        var body = new StringBuilder();
        body.Append($"<p class=\"legend\">{legend}</p>");
        body.Append("<svg width=\"0\" height=\"0\" style=\"position:absolute\"><defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f4f4f4\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#c8c8c8\" stroke-width=\"2\"/></pattern></defs></svg>");
        foreach (var chart in charts) body.Append(Chart(chart, plot));
        var rows = string.Concat(firmware.Select(r => string.Create(Inv,
            $"<tr><td>{Esc(r.Key)}</td><td>{Dur(TimeSpan.FromDays(r.DaysObserved))}</td><td>{r.Deaf}</td><td>{r.Down}</td><td>{r.Unresponsive}</td><td>{(r.IncidentsPerWeek is { } w ? w.ToString("0.00", Inv) : "-")}</td><td>{Dur(r.MedianDuration)}</td><td>{Dur(r.LongestDuration)}</td><td>{r.ShareDeaf * 100:0.000} %</td><td>{r.ShareDown * 100:0.000} %</td><td>{Dur(r.MeanTimeBetweenIncidents)}</td></tr>")));
        body.Append($"""
            <h2>By firmware</h2>
            <table><tr><th>firmware</th><th>watched</th><th>deaf</th><th>down</th><th>unresponsive</th><th>per week</th><th>median</th><th>longest</th><th>time deaf</th><th>time down</th><th>MTBI</th></tr>
            {rows}
            </table>
            """);
        return Page(title, body.ToString());
    }

    private static string Chart(FirmwareWeeks chart, Plot p)
    {
        var svg = new StringBuilder();
        var height = Plot.TopPad + Plot.Height + Plot.Bottom;
        var baseline = Plot.TopPad + Plot.Height;
        svg.Append(string.Create(Inv, $"<h2>Firmware {Esc(chart.Firmware)}</h2><svg class=\"chart\" data-firmware=\"{Esc(chart.Firmware)}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{p.Width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">"));
        svg.Append(string.Create(Inv, $"<rect class=\"plot\" x=\"{Plot.Left}\" y=\"{Plot.TopPad}\" width=\"{p.Weeks * p.Pitch}\" height=\"{Plot.Height}\" fill=\"none\"/>"));
        for (var v = 0; v <= p.Top; v += p.Tick)
        {
            var y = baseline - v * p.PerIncident;
            svg.Append(string.Create(Inv, $"<line x1=\"{Plot.Left}\" x2=\"{Plot.Left + p.Weeks * p.Pitch}\" y1=\"{y:0.##}\" y2=\"{y:0.##}\" stroke=\"#e4e4e4\"/><text x=\"{Plot.Left - 5}\" y=\"{y + 4:0.##}\" text-anchor=\"end\">{v}</text>"));
        }
        svg.Append(string.Create(Inv, $"<text class=\"axis-title\" transform=\"rotate(-90)\" x=\"{-(Plot.TopPad + Plot.Height / 2)}\" y=\"13\" text-anchor=\"middle\">incidents per week</text>"));
        svg.Append(string.Create(Inv, $"<text class=\"axis-title\" x=\"{Plot.Left + p.Weeks * p.Pitch / 2}\" y=\"{height - 4}\" text-anchor=\"middle\">week (Monday, UTC)</text>"));
        var labelEvery = p.Pitch >= 24 ? 1 : (int)Math.Ceiling(24.0 / p.Pitch);
        for (var i = 0; i < chart.Weeks.Count; i++)
        {
            var w = chart.Weeks[i];
            var x = Plot.Left + i * p.Pitch + 1.5;
            if (!w.Watched)
                svg.Append(string.Create(Inv, $"<rect class=\"unwatched\" data-week=\"{w.Key}\" x=\"{x:0.##}\" y=\"{Plot.TopPad}\" width=\"{p.Bar}\" height=\"{Plot.Height}\" fill=\"url(#hatch)\"><title>{w.Key}: not watched on {Esc(chart.Firmware)}</title></rect>"));
            var y = (double)baseline;
            var total = 0;
            foreach (var (state, colour) in StateColours)
            {
                var n = Count(w, state);
                if (n == 0) continue;
                var h = n * p.PerIncident;
                y -= h;
                total += n;
                svg.Append(string.Create(Inv, $"<rect class=\"bar\" data-week=\"{w.Key}\" data-state=\"{state}\" data-count=\"{n}\" x=\"{x:0.##}\" y=\"{y:0.##}\" width=\"{p.Bar}\" height=\"{h:0.##}\" fill=\"{colour}\"><title>{w.Key}: {n} {state} on {Esc(chart.Firmware)}</title></rect>"));
            }
            if (total > 0 && p.Bar >= 10) svg.Append(string.Create(Inv, $"<text class=\"count\" x=\"{x + p.Bar / 2.0:0.##}\" y=\"{y - 3:0.##}\" text-anchor=\"middle\">{total}</text>"));
            if (i % labelEvery == 0)
                svg.Append(string.Create(Inv, $"<text class=\"week\" x=\"{x + p.Bar / 2.0:0.##}\" y=\"{baseline + 12}\" text-anchor=\"end\" transform=\"rotate(-45 {x + p.Bar / 2.0:0.##} {baseline + 12})\">{w.Key[5..]}</text>"));
        }
        svg.Append(string.Create(Inv, $"<line x1=\"{Plot.Left}\" x2=\"{Plot.Left + p.Weeks * p.Pitch}\" y1=\"{baseline}\" y2=\"{baseline}\" stroke=\"#555\"/></svg>"));
        return svg.ToString();
    }

    private static string Page(string title, string body) => $$"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{Esc(title)}}</title>
        <style>body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1220px}h2{font-size:1.1em;margin:1.2em 0 .3em}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}.key{display:inline-block;margin-right:1.5em}.swatch{display:inline-block;width:12px;height:12px;vertical-align:middle}svg.chart{display:block;max-width:100%}</style></head>
        <body><h1>{{Esc(title)}}</h1>
        {{body}}
        </body></html>
        """;

    private static string Esc(string s) => System.Net.WebUtility.HtmlEncode(s);
}

// The JSON report's shape (README), one record per object in the order the fields appear.
internal sealed record JsonHistoryReport(string By, string Since, string Until, IReadOnlyList<JsonHistoryRow> Rows);

internal sealed record JsonHistoryRow(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Week,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Firmware,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Label,
    string Key, bool Watched, IReadOnlyList<string> FirmwareSeen, double DaysObserved, int Deaf, int Down, int Unresponsive, double? IncidentsPerWeek, double? MedianDurationSeconds,
    double? LongestDurationSeconds, double ShareDeaf, double ShareDown, double ShareUnresponsive, double? MeanTimeBetweenIncidentsSeconds, int Agents, int Consoles,
    double? DeafDownRatio, double? MedianTimeToRecoverSeconds);

internal sealed record JsonIncidentList(string Since, string Until, IReadOnlyList<JsonIncident> Incidents);

internal sealed record JsonIncident(string Target, string? Firmware, string State, string Start, string? End, double DurationSeconds, string Ended, string Source,
    IReadOnlyDictionary<string, long> Evidence,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Agent,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Site);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(JsonHistoryReport))]
[JsonSerializable(typeof(JsonIncidentList))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;
