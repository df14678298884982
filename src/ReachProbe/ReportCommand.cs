using System.Globalization;
using ReachProbe.History;

namespace ReachProbe.Cli;

/// <summary><c>reachprobe report</c>: incidents per firmware (or per week) from the history database.</summary>
internal static class ReportCommand
{
    /// <summary>Where the agent keeps its history unless configured otherwise.</summary>
    public const string DefaultDb = "/var/lib/reachprobe/history.db";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, TimeProvider? time = null)
    {
        var db = Environment.GetEnvironmentVariable("REACHPROBE_DB") is { Length: > 0 } env ? env : DefaultDb;
        var since = TimeSpan.FromDays(84);
        string? target = null;
        var by = "firmware";
        var json = false;
        string? html = null;
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            switch (a)
            {
                case "--db": db = CommandLine.Value(args, ref i, a); break;
                case "--since": since = ParseSpan(CommandLine.Value(args, ref i, a)); break;
                case "--target": target = CommandLine.Value(args, ref i, a); break;
                case "--by":
                    by = CommandLine.Value(args, ref i, a);
                    if (by is not ("firmware" or "week")) throw new UsageException($"--by takes firmware or week, not '{by}'");
                    break;
                case "--json": json = true; break;
                case "--html": html = CommandLine.Value(args, ref i, a); break;
                default: throw new UsageException($"unknown option '{a}' for report");
            }
        }
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
            using var store = HistoryStore.Open(db);
            incidents = store.Incidents(from, target);
            firmware = store.Firmware(target);
            observed = store.Observed();
        }
        catch (HistoryException e)
        {
            stderr.WriteLine($"reachprobe: {e.Message}");
            return CommandLine.Usage;
        }
        var byFirmware = HistoryReport.ByFirmware(incidents, firmware, observed, from, until);
        var byWeek = HistoryReport.ByWeek(incidents, firmware, observed, from, until);
        var rows = by == "week" ? byWeek : byFirmware;
        if (json) stdout.WriteLine(HistoryReport.Json(rows, by, from, until));
        else
        {
            stdout.WriteLine($"ReachProbe history {db}{(target is null ? "" : $", target {target}")}, {from:yyyy-MM-dd} to {until:yyyy-MM-dd}: {incidents.Count} incident(s)");
            stdout.Write(HistoryReport.Table(rows, by));
        }
        if (html is not null)
        {
            try
            {
                File.WriteAllText(html, HistoryReport.Html(byWeek, byFirmware, $"ReachProbe: incidents {from:yyyy-MM-dd} to {until:yyyy-MM-dd}" + (target is null ? "" : $" — {target}")));
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
    internal static TimeSpan ParseSpan(string text)
    {
        if (text.Length >= 2 && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0 && n < 100_000)
        {
            switch (text[^1])
            {
                case 'w': return TimeSpan.FromDays(7 * n);
                case 'd': return TimeSpan.FromDays(n);
                case 'h': return TimeSpan.FromHours(n);
            }
        }
        throw new UsageException($"--since takes a span such as 12w, 30d or 48h, not '{text}'");
    }

}
