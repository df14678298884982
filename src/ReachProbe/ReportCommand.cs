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
        var db = Values.Path("--db", $"history database: a file, or postgresql://[user@][host][:port]/db for a fleet's (default $REACHPROBE_DB, else {HistoryStore.DefaultPathText})", "FILE|URI");
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
        var by = new Option<string>("--by")
        {
            Description = "rows per firmware (default), model (the targets' model label), site, agent, week, or value of one of the targets' own labels (label:room); "
                + "or a combination: firmware,site",
            HelpName = "firmware|model|site|agent|week|label:NAME[,…]",
        };
        by.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string?>() ?? "";
            var parts = v.Split(',');
            foreach (var part in parts)
            {
                if (HistoryReport.Dimensions.Contains(part)) continue;
                if (part.StartsWith("label:", StringComparison.Ordinal))
                {
                    if (!System.Text.RegularExpressions.Regex.IsMatch(part[6..], "^[a-zA-Z_][a-zA-Z0-9_]*$"))
                        r.AddError($"--by label:NAME: '{Quote.Clip(part[6..])}' is not a label name (letters, digits and _, not starting with a digit)");
                    continue;
                }
                r.AddError($"--by takes firmware, model, site, agent, week or label:NAME (or several, comma-separated), not '{Quote.Clip(part)}'");
                return;
            }
            if (parts.Distinct().Count() != parts.Length) r.AddError($"--by names '{Quote.Clip(parts.GroupBy(p => p).First(g => g.Count() > 1).Key)}' twice");
        });
        var site = Values.Word("--site", "one site only (a fleet's history)", "SITE");
        var agent = Values.Word("--agent", "one agent only (a fleet's history)", "NAME");
        var json = new Option<bool>("--json") { Description = "JSON instead of the table" };
        var html = Values.Path("--html", "also write an HTML page: per firmware a chart of incidents per week by state, and the table (with --incidents: the list)");
        var incidents = new Option<bool>("--incidents") { Description = "list the incidents (target, firmware, state, start, end, duration, how it ended, evidence) instead of the figures" };
        var state = Values.OneOf("--state", "with --incidents: one state only", "deaf", "down", "unresponsive");
        var command = new Command("report", "incidents per firmware, model, site, agent or week, or the list of incidents, from the history database (one agent's file, or a fleet's PostgreSQL)")
        {
            db, since, target, by, site, agent, incidents, state, json, html,
        };
        command.SetAction(parse => Run(new Request(parse.GetValue(db), parse.GetValue(since) ?? TimeSpan.FromDays(84), parse.GetValue(target), parse.GetValue(by) ?? "firmware",
            parse.GetValue(incidents), parse.GetValue(state), parse.GetValue(json), parse.GetValue(html), parse.GetValue(site), parse.GetValue(agent)), stdout, stderr, time));
        return command;
    }

    private sealed record Request(string? Db, TimeSpan Since, string? Target, string By, bool Incidents, string? State, bool Json, string? Html, string? Site = null, string? Agent = null);

    /// <summary>Consoles (one device by its MAC) that more than one agent watched: said, so a reader knows why they appear under two sites.</summary>
    private static IEnumerable<string> SeenFromSeveral(List<IncidentRecord> incidents, IReadOnlyList<WatchedPeriod> watched)
    {
        var names = incidents.GroupBy(i => i.TargetId).ToDictionary(g => g.Key, g => g.Last().Target);
        foreach (var g in watched.Where(w => w.Agent is not null).GroupBy(w => w.Target).Where(g => g.Select(w => w.Agent).Distinct().Count() > 1).OrderBy(g => g.Key))
        {
            var where = g.Select(w => w.Site is null ? w.Agent! : $"{w.Agent} ({w.Site})").Distinct().Order(StringComparer.Ordinal);
            yield return $"one console seen from several places: {names.GetValueOrDefault(g.Key) ?? $"target {g.Key}"} by {string.Join(", ", where)} (its incidents counted once unless rows are per site or agent)";
        }
    }

    /// <summary>The command as typed after "reachprobe report", on <paramref name="time"/>'s clock (tests, benchmarks).</summary>
    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr, TimeProvider? time = null) =>
        CommandLine.RunAsync(["report", .. args], stdout, stderr, time).GetAwaiter().GetResult();

    private static int Run(Request q, TextWriter stdout, TextWriter stderr, TimeProvider? time = null)
    {
        var (since, target, by, json, html) = (q.Since, q.Target, q.By, q.Json, q.Html);
        if (q.State is not null && !q.Incidents) throw new UsageException("--state goes with --incidents");
        var db = q.Db ?? HistoryStore.PathFromEnvironment();
        var fleetDb = PostgresLocation.IsUri(db);
        if (!fleetDb && !File.Exists(db))
        {
            stderr.WriteLine($"reachprobe: {db}: no history database there (the agent writes one; give --db FILE)");
            return CommandLine.Usage;
        }
        var until = (time ?? TimeProvider.System).GetUtcNow();
        var from = until - since;
        var dimensions = by.Split(',');
        var labelNames = dimensions.Select(d => d == "model" ? "model" : d.StartsWith("label:", StringComparison.Ordinal) ? d[6..] : null).OfType<string>().ToList();
        var label = dimensions.Length == 1 && by.StartsWith("label:", StringComparison.Ordinal) ? by[6..] : null;
        var shown = db;
        ReportData data;
        try
        {
            if (fleetDb) shown = PostgresLocation.Parse(db).Display;
            using var store = HistoryStore.OpenReadOnly(db);
            var labels = labelNames.Distinct().ToDictionary(n => n, store.LabelValues);
            // Evidence only for the list of incidents; watched time only where it reaches into the window.
            data = new ReportData(store.Incidents(from, target, withEvidence: q.Incidents), store.Firmware(target), store.Watched(target, from), labels).Only(q.Site, q.Agent);
        }
        catch (HistoryException e)
        {
            stderr.WriteLine($"reachprobe: {(e.Message.StartsWith(shown, StringComparison.Ordinal) ? e.Message : $"{shown}: {e.Message}")}");
            return CommandLine.Usage;
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or InvalidCastException or InvalidOperationException or FormatException or OverflowException)
        {
            // ReachProbe's tables, but not as it writes them: a NULL target or firmware, other columns, text for a time.
            stderr.WriteLine($"reachprobe: {shown}: not a ReachProbe history database as ReachProbe writes it ({Settings.Quote.Clip(e.Message)})");
            return CommandLine.Usage;
        }
        var (incidents, firmware, observed) = (data.Incidents.ToList(), data.Firmware, data.Watched);
        var labelValues = label is null ? [] : data.Labels[label];
        var fleet = incidents.Select(i => i.Agent).Concat(observed.Select(o => o.Agent)).Distinct().Count() > 1;
        var scope = (target is null ? "" : $", target {target}") + (q.Site is null ? "" : $", site {q.Site}") + (q.Agent is null ? "" : $", agent {q.Agent}");
        // The span the data covers (watched time and incidents within the window), for the titles.
        var starts = observed.Select(o => o.Start < from ? from : o.Start).Concat(incidents.Select(i => i.Start)).ToList();
        var ends = observed.Select(o => o.End > until ? until : o.End).Concat(incidents.Select(i => i.End ?? until)).ToList();
        var span = starts.Count == 0 ? "no data" : $"{starts.Min():yyyy-MM-dd} to {ends.Max():yyyy-MM-dd}";
        var title = $"ReachProbe incidents, {span}" + (scope.Length == 0 ? "" : $" — {scope[2..]}");
        string page;
        if (q.Incidents)
        {
            var list = incidents.Where(i => q.State is null || i.State == q.State).ToList();
            if (json) stdout.WriteLine(ReportRender.IncidentJson(list, from, until));
            else
            {
                stdout.WriteLine($"ReachProbe history {shown}{scope}{(q.State is null ? "" : $", {q.State}")}, {span}: {list.Count} incident(s)");
                stdout.Write(ReportRender.IncidentTable(list, until));
            }
            page = html is null ? "" : ReportRender.IncidentHtml(list, until, title);
        }
        else
        {
            // Only the rows asked for (and, for the HTML page, the per-firmware ones its charts are made of).
            var rows = by switch
            {
                "week" => HistoryReport.ByWeek(incidents, firmware, observed, from, until),
                "firmware" => HistoryReport.ByFirmware(incidents, firmware, observed, from, until),
                _ => HistoryReport.By(dimensions, data, from, until),
            };
            if (json) stdout.WriteLine(ReportRender.Json(rows, by, from, until));
            else
            {
                var unlabelled = labelNames.Where(n => data.Labels[n].Count == 0).ToList();
                stdout.WriteLine($"ReachProbe history {shown}{scope}, {span}: {incidents.Count} incident(s)"
                    + (fleet ? $", {incidents.Select(i => i.Agent).Concat(observed.Select(o => o.Agent)).OfType<string>().Distinct().Count()} agents" : "")
                    + (unlabelled.Count > 0 ? $"; no target carries the label '{string.Join("', '", unlabelled)}'" : ""));
                stdout.Write(ReportRender.Table(rows, label ?? string.Join(" / ", dimensions), fleet));
                if (fleet) foreach (var line in SeenFromSeveral(incidents, observed)) stdout.WriteLine(line);
            }
            var byFirmware = html is null ? [] : by == "firmware" ? rows : HistoryReport.ByFirmware(incidents, firmware, observed, from, until);
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
