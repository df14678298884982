using System.CommandLine;
using System.Globalization;
using ReachProbe.Settings;
using ReachProbe.History;

namespace ReachProbe.Cli;

/// <summary><c>reachprobe report</c>: incidents per firmware (or per week) from the history database.</summary>
internal static class ReportCommand
{

    public static Command Create(TextWriter stdout, TextWriter stderr, TimeProvider? time = null)
    {
        var db = Values.Path("--db", $"history database (default $REACHPROBE_DB, else {HistoryStore.DefaultPathText})");
        var since = new Option<TimeSpan?>("--since")
        {
            Description = "how far back: 12w, 30d, 48h (default 12w)",
            HelpName = "SPAN",
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
                if (TryParseSpan(text, out var span)) return span;
                r.AddError($"--since takes a span such as 12w, 30d or 48h, not '{Quote.Clip(text)}'");
                return default;
            },
        };
        var target = Values.Word("--target", "one target only", "NAME");
        var by = new Option<string>("--by") { Description = "rows per firmware (default), per week, or per value of one of the targets' own labels (label:room)", HelpName = "firmware|week|label:NAME" };
        by.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string?>();
            if (v is "firmware" or "week") return;
            if (v is not null && v.StartsWith("label:", StringComparison.Ordinal))
            {
                if (!System.Text.RegularExpressions.Regex.IsMatch(v[6..], "^[a-zA-Z_][a-zA-Z0-9_]*$"))
                    r.AddError($"--by label:NAME: '{Quote.Clip(v[6..])}' is not a label name (letters, digits and _, not starting with a digit)");
                return;
            }
            r.AddError($"--by takes firmware, week or label:NAME, not '{Quote.Clip(v ?? "")}'");
        });
        var json = new Option<bool>("--json") { Description = "JSON instead of the table" };
        var html = Values.Path("--html", "also write an HTML page: per firmware a chart of incidents per week by state, and the table (with --incidents: the list)");
        var incidents = new Option<bool>("--incidents") { Description = "list the incidents (target, firmware, state, start, end, duration, how it ended, evidence) instead of the figures" };
        var state = Values.OneOf("--state", "with --incidents: one state only", "deaf", "down", "unresponsive");
        var command = new Command("report", "incidents per firmware or per week, or the list of incidents, from the history database") { db, since, target, by, incidents, state, json, html };
        command.SetAction(parse => Run(new Request(parse.GetValue(db), parse.GetValue(since) ?? TimeSpan.FromDays(84), parse.GetValue(target), parse.GetValue(by) ?? "firmware",
            parse.GetValue(incidents), parse.GetValue(state), parse.GetValue(json), parse.GetValue(html)), stdout, stderr, time));
        return command;
    }

    private sealed record Request(string? Db, TimeSpan Since, string? Target, string By, bool Incidents, string? State, bool Json, string? Html);

    /// <summary>The command as typed after "reachprobe report", on <paramref name="time"/>'s clock (tests, benchmarks).</summary>
    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr, TimeProvider? time = null) =>
        CommandLine.RunAsync(["report", .. args], stdout, stderr, time).GetAwaiter().GetResult();

    private static int Run(Request q, TextWriter stdout, TextWriter stderr, TimeProvider? time = null)
    {
        var (since, target, by, json, html) = (q.Since, q.Target, q.By, q.Json, q.Html);
        if (q.State is not null && !q.Incidents) throw new UsageException("--state goes with --incidents");
        var db = q.Db ?? HistoryStore.PathFromEnvironment();
        if (!File.Exists(db))
        {
            stderr.WriteLine($"reachprobe: {db}: no history database there (the agent writes one; give --db FILE)");
            return CommandLine.Usage;
        }
        var until = (time ?? TimeProvider.System).GetUtcNow();
        var from = until - since;
        List<IncidentRecord> incidents;
        List<FirmwareRecord> firmware;
        List<WatchedPeriod> observed;
        var label = by.StartsWith("label:", StringComparison.Ordinal) ? by[6..] : null;
        Dictionary<long, string> labelValues = [];
        try
        {
            using var store = HistoryStore.OpenReadOnly(db);
            incidents = store.Incidents(from, target);
            firmware = store.Firmware(target);
            observed = store.Watched(target);
            if (label is not null) labelValues = store.LabelValues(label);
        }
        catch (HistoryException e)
        {
            stderr.WriteLine($"reachprobe: {(e.Message.StartsWith(db, StringComparison.Ordinal) ? e.Message : $"{db}: {e.Message}")}");
            return CommandLine.Usage;
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or InvalidCastException or InvalidOperationException or FormatException or OverflowException)
        {
            // ReachProbe's tables, but not as it writes them: a NULL target or firmware, other columns, text for a time.
            stderr.WriteLine($"reachprobe: {db}: not a ReachProbe history database as ReachProbe writes it ({Settings.Quote.Clip(e.Message)})");
            return CommandLine.Usage;
        }
        // The span the data covers (watched time and incidents within the window), for the titles.
        var starts = observed.Select(o => o.Start < from ? from : o.Start).Concat(incidents.Select(i => i.Start)).ToList();
        var ends = observed.Select(o => o.End > until ? until : o.End).Concat(incidents.Select(i => i.End ?? until)).ToList();
        var span = starts.Count == 0 ? "no data" : $"{starts.Min():yyyy-MM-dd} to {ends.Max():yyyy-MM-dd}";
        var title = $"ReachProbe incidents, {span}" + (target is null ? "" : $" — {target}");
        string page;
        if (q.Incidents)
        {
            var list = incidents.Where(i => q.State is null || i.State == q.State).ToList();
            if (json) stdout.WriteLine(ReportRender.IncidentJson(list, from, until));
            else
            {
                stdout.WriteLine($"ReachProbe history {db}{(target is null ? "" : $", target {target}")}{(q.State is null ? "" : $", {q.State}")}, {span}: {list.Count} incident(s)");
                stdout.Write(ReportRender.IncidentTable(list, until));
            }
            page = html is null ? "" : ReportRender.IncidentHtml(list, until, title);
        }
        else
        {
            var byFirmware = HistoryReport.ByFirmware(incidents, firmware, observed, from, until);
            var byWeek = HistoryReport.ByWeek(incidents, firmware, observed, from, until);
            var rows = label is not null ? HistoryReport.ByLabel(labelValues, incidents, firmware, observed, from, until) : by == "week" ? byWeek : byFirmware;
            if (json) stdout.WriteLine(ReportRender.Json(rows, by, from, until));
            else
            {
                stdout.WriteLine($"ReachProbe history {db}{(target is null ? "" : $", target {target}")}, {span}: {incidents.Count} incident(s)"
                    + (label is not null && labelValues.Count == 0 ? $"; no target carries the label '{label}'" : ""));
                stdout.Write(ReportRender.Table(rows, label ?? by));
            }
            page = html is null ? "" : ReportRender.Html(byFirmware.Select(f => new FirmwareWeeks(f.Key, HistoryReport.ByWeek(incidents, firmware, observed, from, until, f.Key))).ToList(),
                byFirmware, title);
        }
        if (html is not null)
        {
            try
            {
                File.WriteAllText(html, page);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"reachprobe: {html}: cannot write the HTML report: {e.Message}");
                return CommandLine.Usage;
            }
            if (!json) stdout.WriteLine($"HTML report written to {html}");
        }
        return CommandLine.Ok;
    }

    /// <summary>"12w", "30d", "48h".</summary>
    internal static bool TryParseSpan(string text, out TimeSpan span)
    {
        span = default;
        if (text.Length < 2 || !double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || !(n > 0 && n < 100_000)) return false;
        span = text[^1] switch { 'w' => TimeSpan.FromDays(7 * n), 'd' => TimeSpan.FromDays(n), 'h' => TimeSpan.FromHours(n), _ => default };
        return span > TimeSpan.Zero;
    }
}
