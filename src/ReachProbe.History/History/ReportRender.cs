using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace ReachProbe.History;

/// <summary>Shows <see cref="HistoryReport"/>'s figures: a plain table, JSON, an HTML page. Figures are never computed here.</summary>
public static class ReportRender
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

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

    /// <summary>JSON with the rows' figures in base units (seconds, fractions); System.Text.Json's source generator (<see cref="ReportJsonContext"/>).</summary>
    public static string Json(IReadOnlyList<ReportRow> rows, string by, DateTimeOffset since, DateTimeOffset until)
    {
        static double? R(double? v) => v is { } x ? Math.Round(x, 6) : null;
        var report = new JsonHistoryReport(by, since.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", Inv), until.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", Inv),
            rows.Select(r => new JsonHistoryRow(by == "week" ? r.Key : null, by == "week" ? null : r.Key, r.Firmware, Math.Round(r.DaysObserved, 6), r.Deaf, r.Down, r.Unresponsive,
                R(r.IncidentsPerWeek), R(r.MedianDuration?.TotalSeconds), R(r.LongestDuration?.TotalSeconds), Math.Round(r.ShareDeaf, 9), Math.Round(r.ShareDown, 9),
                R(r.MeanTimeBetweenIncidents?.TotalSeconds))).ToList());
        return System.Text.Json.JsonSerializer.Serialize(report, ReportJsonContext.Default.JsonHistoryReport);
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

// The JSON report's shape (README), one record per object in the order the fields appear.
internal sealed record JsonHistoryReport(string By, string Since, string Until, IReadOnlyList<JsonHistoryRow> Rows);

internal sealed record JsonHistoryRow(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Week,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Firmware,
    IReadOnlyList<string> FirmwareSeen, double DaysObserved, int Deaf, int Down, int Unresponsive, double? IncidentsPerWeek, double? MedianDurationSeconds,
    double? LongestDurationSeconds, double ShareDeaf, double ShareDown, double? MeanTimeBetweenIncidentsSeconds);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(JsonHistoryReport))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;
