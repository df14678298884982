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
        var db = Values.Path("--db", $"history database (default $REACHPROBE_DB, else {HistoryStore.DefaultPath})");
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
        var by = new Option<string>("--by") { Description = "rows per firmware (default) or per week", HelpName = "firmware|week" };
        by.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string?>();
            if (v is not ("firmware" or "week")) r.AddError($"--by takes firmware or week, not '{Quote.Clip(v ?? "")}'");
        });
        var json = new Option<bool>("--json") { Description = "JSON instead of the table" };
        var html = Values.Path("--html", "also write an HTML page with a chart of incidents per week coloured by firmware");
        var command = new Command("report", "incidents per firmware or per week from the history database") { db, since, target, by, json, html };
        command.SetAction(parse => Run(parse.GetValue(db), parse.GetValue(since) ?? TimeSpan.FromDays(84), parse.GetValue(target), parse.GetValue(by) ?? "firmware", parse.GetValue(json), parse.GetValue(html), stdout, stderr, time));
        return command;
    }

    /// <summary>The command as typed after "reachprobe report", on <paramref name="time"/>'s clock (tests, benchmarks).</summary>
    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr, TimeProvider? time = null) =>
        CommandLine.RunAsync(["report", .. args], stdout, stderr, time).GetAwaiter().GetResult();

    private static int Run(string? dbPath, TimeSpan since, string? target, string by, bool json, string? html, TextWriter stdout, TextWriter stderr, TimeProvider? time = null)
    {
        var db = dbPath ?? HistoryStore.PathFromEnvironment();
        if (!File.Exists(db))
        {
            stderr.WriteLine($"reachprobe: {db}: no history database there (the agent writes one; give --db FILE)");
            return CommandLine.Usage;
        }
        var until = (time ?? TimeProvider.System).GetUtcNow();
        var from = until - since;
        List<IncidentRecord> incidents;
        List<FirmwareRecord> firmware;
        List<ObservedPeriod> observed;
        try
        {
            using var store = HistoryStore.OpenReadOnly(db);
            incidents = store.Incidents(from, target);
            firmware = store.Firmware(target);
            observed = store.Observed();
        }
        catch (HistoryException e)
        {
            stderr.WriteLine($"reachprobe: {(e.Message.StartsWith(db, StringComparison.Ordinal) ? e.Message : $"{db}: {e.Message}")}");
            return CommandLine.Usage;
        }
        var byFirmware = HistoryReport.ByFirmware(incidents, firmware, observed, from, until);
        var byWeek = HistoryReport.ByWeek(incidents, firmware, observed, from, until);
        var rows = by == "week" ? byWeek : byFirmware;
        if (json) stdout.WriteLine(ReportRender.Json(rows, by, from, until));
        else
        {
            stdout.WriteLine($"ReachProbe history {db}{(target is null ? "" : $", target {target}")}, {from:yyyy-MM-dd} to {until:yyyy-MM-dd}: {incidents.Count} incident(s)");
            stdout.Write(ReportRender.Table(rows, by));
        }
        if (html is not null)
        {
            try
            {
                File.WriteAllText(html, ReportRender.Html(byWeek, byFirmware, $"ReachProbe: incidents {from:yyyy-MM-dd} to {until:yyyy-MM-dd}" + (target is null ? "" : $" — {target}")));
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
