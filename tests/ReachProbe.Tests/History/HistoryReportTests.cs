using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using ReachProbe.Cli;
using ReachProbe.History;

namespace ReachProbe.Tests.History;

/// <summary>
/// A 12-week history written through the store on a fake clock: firmware 6.72 for five weeks with two deaf incidents a
/// week (20 and 40 minutes), then 7.00 from day 35 with no deaf incident and one 2-hour down. Every figure is checked.
/// </summary>
public sealed class HistoryReportTests : IDisposable
{
    private static readonly DateTimeOffset Monday = new(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("reachprobe-history-").FullName;
    private readonly FakeTimeProvider _clock = new(Monday);
    private readonly string _db;

    public HistoryReportTests()
    {
        _db = Path.Combine(_dir, "history.db");
        using var store = HistoryStore.Open(_db);
        store.Start(_clock.GetUtcNow());
        store.Watch("console", "198.18.0.27", null, _clock.GetUtcNow());
        store.RecordFirmware("console", "6.72", _clock.GetUtcNow());
        for (var day = 0; day < 84; day++)
        {
            var midnight = Monday.AddDays(day);
            if (day == 35) store.RecordFirmware("console", "7.00", midnight);
            var fw = day < 35 ? "6.72" : "7.00";
            // Deaf on Tuesdays (20 min) and Fridays (40 min) while on 6.72.
            if (day < 35 && day % 7 is 1 or 4)
            {
                var start = midnight.AddHours(20);
                var id = store.OpenIncident("console", ReachProbe.Verdict.TargetState.Deaf, start, fw);
                store.CloseIncident(id, start.AddMinutes(day % 7 == 1 ? 20 : 40), "recovered", new ReachProbe.Verdict.EvidenceCounts());
            }
            if (day == 52)
            {
                var start = midnight.AddHours(9);
                var id = store.OpenIncident("console", ReachProbe.Verdict.TargetState.Down, start, fw);
                store.CloseIncident(id, start.AddHours(2), "recovered", new ReachProbe.Verdict.EvidenceCounts());
            }
            store.Alive(midnight.AddHours(23));
        }
        _clock.SetUtcNow(Monday.AddDays(84));
        store.Stop(_clock.GetUtcNow());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (int Code, string Out, string Err) Report(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = ReportCommand.Run(["--db", _db, .. args], o, e, _clock);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void ByFirmware_ShowsTheDifferenceExactly()
    {
        using var store = HistoryStore.Open(_db);
        var since = Monday;
        var until = Monday.AddDays(84);
        var rows = HistoryReport.ByFirmware(store.Incidents(since), store.Firmware(), store.Watched(), since, until);
        Assert.Equal(["6.72", "7.00"], rows.Select(r => r.Key));
        var old = rows[0];
        Assert.Equal(35, old.DaysObserved, 9);
        Assert.Equal(10, old.Deaf);
        Assert.Equal(0, old.Down);
        Assert.Equal(2.0, old.IncidentsPerWeek!.Value, 9);
        Assert.Equal(TimeSpan.FromMinutes(30), old.MedianDuration);
        Assert.Equal(TimeSpan.FromMinutes(40), old.LongestDuration);
        Assert.Equal(300.0 / (35 * 1440), old.ShareDeaf, 12);
        Assert.Equal(0, old.ShareDown);
        Assert.Equal(TimeSpan.FromDays(3.5), old.MeanTimeBetweenIncidents);
        var updated = rows[1];
        Assert.Equal(49, updated.DaysObserved, 9);
        Assert.Equal(0, updated.Deaf);
        Assert.Equal(1, updated.Down);
        Assert.Equal(1.0 / 7, updated.IncidentsPerWeek!.Value, 9);
        Assert.Equal(TimeSpan.FromHours(2), updated.MedianDuration);
        Assert.Equal(0, updated.ShareDeaf);
        Assert.Equal(120.0 / (49 * 1440), updated.ShareDown, 12);
        Assert.Equal(TimeSpan.FromDays(49), updated.MeanTimeBetweenIncidents);
    }

    [Fact]
    public void Table_ByFirmware()
    {
        var (code, stdout, stderr) = Report("--since", "12w");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var lines = stdout.Split('\n');
        Assert.Equal("firmware     watched  deaf  down unresp  per week    median   longest   deaf %   down %      MTBI deaf:down  recover", lines[1]);
        Assert.Equal("6.72           35.0d    10     0      0      2.00       30m       40m    0.595    0.000      3.5d         -      30m", lines[2]);
        Assert.Equal("7.00           49.0d     0     1      0      0.14      2.0h      2.0h    0.000    0.170     49.0d      0.00     2.0h", lines[3]);
    }

    [Fact]
    public void Table_ByWeek_ShowsTheFirmwareOfEachWeek()
    {
        var (code, stdout, _) = Report("--by", "week");
        Assert.Equal(0, code);
        var lines = stdout.Split('\n').Skip(2).Where(l => l.Length > 0).ToList();
        Assert.Equal(12, lines.Count);
        Assert.StartsWith("2026-01-05      7.0d     2     0      0      2.00", lines[0]);
        Assert.EndsWith("6.72", lines[0]);
        Assert.EndsWith("7.00", lines[5]);
        Assert.StartsWith("2026-02-09      7.0d     0     0      0      0.00", lines[5]);
        Assert.StartsWith("2026-02-23      7.0d     0     1      0      1.00", lines[7]);
    }

    [Fact]
    public void Json_ByFirmware_HasTheFiguresInBaseUnits()
    {
        var (code, stdout, _) = Report("--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        var rows = doc.RootElement.GetProperty("rows");
        Assert.Equal("6.72", rows[0].GetProperty("firmware").GetString());
        Assert.Equal(10, rows[0].GetProperty("deaf").GetInt32());
        Assert.Equal(1800, rows[0].GetProperty("medianDurationSeconds").GetDouble());
        Assert.Equal(2400, rows[0].GetProperty("longestDurationSeconds").GetDouble());
        Assert.Equal(302400, rows[0].GetProperty("meanTimeBetweenIncidentsSeconds").GetDouble());
        Assert.Equal(0, rows[1].GetProperty("deaf").GetInt32());
        Assert.Equal(1, rows[1].GetProperty("down").GetInt32());
        Assert.Equal(Math.Round(1.0 / 7, 6), rows[1].GetProperty("incidentsPerWeek").GetDouble());
    }

    [Fact]
    public void Html_OneChartPerFirmware_BarsStackedByState_WeeksOffThatFirmwareHatched()
    {
        var html = Path.Combine(_dir, "report.html");
        var (code, _, _) = Report("--html", html);
        Assert.Equal(0, code);
        var text = File.ReadAllText(html);
        Assert.Contains("<title>ReachProbe incidents, 2026-01-05 to 2026-03-30</title>", text);
        var charts = System.Text.RegularExpressions.Regex.Matches(text, "<svg class=\"chart\" data-firmware=\"([^\"]+)\"").Select(m => m.Groups[1].Value);
        Assert.Equal(["6.72", "7.00"], charts);
        var old = text[text.IndexOf("data-firmware=\"6.72\"", StringComparison.Ordinal)..text.IndexOf("data-firmware=\"7.00\"", StringComparison.Ordinal)];
        var updated = text[text.IndexOf("data-firmware=\"7.00\"", StringComparison.Ordinal)..];
        Assert.Contains("class=\"bar\" data-week=\"2026-01-05\" data-state=\"deaf\" data-count=\"2\"", old);
        Assert.Contains("class=\"bar\" data-week=\"2026-02-23\" data-state=\"down\" data-count=\"1\"", updated);
        Assert.DoesNotContain("data-state=\"down\"", old);
        // 6.72 ran five weeks, 7.00 the seven after: each chart hatches the other's weeks.
        Assert.Equal(7, System.Text.RegularExpressions.Regex.Matches(old, "class=\"unwatched\"").Count);
        Assert.Equal(5, System.Text.RegularExpressions.Regex.Matches(updated, "class=\"unwatched\"").Count);
        Assert.Contains("incidents per week</text>", text);
        Assert.Contains("week (Monday, UTC)</text>", text);
        foreach (var (state, colour) in ReportRender.StateColours) Assert.Contains($"background:{colour}\"></span> {state}</span>", text);
        Assert.Contains("<td>6.72</td><td>35.0d</td><td>10</td><td>0</td><td>0</td><td>2.00</td>", text);
    }

    [Fact]
    public void WeeksBeforeTheHistory_AreNotWatched_NeverClean()
    {
        // Twelve weeks asked for, the history starts four weeks in: the first four are "not watched" in every form.
        _clock.SetUtcNow(Monday.AddDays(84 + 28));
        var (code, stdout, _) = Report("--by", "week", "--since", "20w");
        Assert.Equal(0, code);
        var lines = stdout.Split('\n').Skip(2).Where(l => l.Length > 0).ToList();
        Assert.Equal(20, lines.Count);
        Assert.Equal("2025-12-08   not watched", lines[0]);
        Assert.Equal("2025-12-29   not watched", lines[3]);
        Assert.StartsWith("2026-01-05      7.0d     2", lines[4]);
        Assert.StartsWith("2026-03-23      7.0d     0", lines[15]);
        Assert.Equal("2026-03-30   not watched", lines[16]);
        var (_, json, _) = Report("--by", "week", "--since", "20w", "--json");
        using var doc = JsonDocument.Parse(json);
        var rows = doc.RootElement.GetProperty("rows");
        Assert.False(rows[0].GetProperty("watched").GetBoolean());
        Assert.True(rows[4].GetProperty("watched").GetBoolean());
    }

    [Fact]
    public void Row_LessThanADayObserved_HasNoRate()
    {
        var start = Monday.AddDays(90);
        IReadOnlyList<IncidentRecord> incidents = [new(1, "c", "deaf", start.AddHours(1), start.AddHours(1.5), "recovered", "7.02", new Dictionary<ReachProbe.Verdict.EvidenceKind, long>(), "agent") { TargetId = 1 }];
        IReadOnlyList<WatchedPeriod> observed = [new(1, start, start.AddHours(6))];
        var row = Assert.Single(HistoryReport.ByFirmware(incidents, [new FirmwareRecord("c", "7.02", start) { TargetId = 1 }], observed, start, start.AddHours(6)));
        Assert.Null(row.IncidentsPerWeek);
        Assert.Equal(1, row.Deaf);
    }

    [Fact]
    public void Report_MissingDatabase_SaysSo()
    {
        var o = new StringWriter();
        var e = new StringWriter();
        Assert.Equal(2, ReportCommand.Run(["--db", Path.Combine(_dir, "none.db")], o, e));
        Assert.Contains("no history database there", e.ToString());
    }
}
