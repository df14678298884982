using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using ReachProbe.History;
using ReachProbe.Tests.History;

namespace ReachProbe.Tests.Config;

/// <summary>
/// The history dashboard (grafana/reachprobe-history-dashboard.json, Grafana's PostgreSQL data source): every query
/// run against a real PostgreSQL holding a seeded fleet history — as the read-only role README tells to make — with
/// Grafana's macros expanded as Grafana expands them, and its answers checked.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed partial class HistoryDashboardTests(PostgresFixture postgres)
{
    public static readonly string File_ = RepoFiles.Path("grafana", "reachprobe-history-dashboard.json");
    private static readonly DateTimeOffset From = new(2026, 10, 26, 0, 0, 0, TimeSpan.Zero), To = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);

    private sealed record Query(string Panel, string Type, string Format, string Sql);

    private static List<Query> Queries()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(File_));
        return doc.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => new Query(p.GetProperty("title").GetString()!, p.GetProperty("type").GetString()!,
                t.GetProperty("format").GetString()!, t.GetProperty("rawSql").GetString()!)))
            .ToList();
    }

    private static string SiteVariableQuery()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(File_));
        return doc.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray().Single(v => v.GetProperty("name").GetString() == "site").GetProperty("query").GetString()!;
    }

    /// <summary>The SQL as Grafana sends it: the time macros for the range, <c>$site</c> as a quoted list.</summary>
    private static string Expand(string sql, IEnumerable<string> sites)
    {
        string Time(DateTimeOffset t) => $"'{t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}'";
        var expanded = TimeFilter().Replace(sql, m => $"{m.Groups[1].Value} BETWEEN {Time(From)} AND {Time(To)}")
            .Replace("$__timeFrom()", Time(From), StringComparison.Ordinal)
            .Replace("$__timeTo()", Time(To), StringComparison.Ordinal)
            .Replace("$site", string.Join(",", sites.Select(s => $"'{s.Replace("'", "''", StringComparison.Ordinal)}'")), StringComparison.Ordinal);
        Assert.DoesNotContain("$", expanded);
        return expanded;
    }

    /// <summary>A fleet history with a third week, and the URI of the read-only role Grafana uses.</summary>
    private string Seed()
    {
        var uri = FleetHistory.Seed(postgres);
        using (var b = HistoryStore.Open(uri, new HistoryAgent("pi-b", "hall-b")))
        {
            b.Start(FleetHistory.Now.AddHours(1));
            b.Watch("ps5-3", "198.18.1.23", "02:00:00:00:00:23", FleetHistory.Now.AddHours(1));
            FleetHistory.Incident(b, "ps5-3", TargetState.Unresponsive, 14 * 24 + 2, 30, "9.03"); // Monday 16 November
            b.Stop(FleetHistory.Now.AddHours(5));
        }
        var database = uri.Split('/')[3].Split('?')[0];
        postgres.Cluster!.Psql(database, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'grafana') THEN CREATE ROLE grafana LOGIN; END IF; END $$; GRANT SELECT ON incidents TO grafana");
        return uri.Replace("postgres@", "grafana@", StringComparison.Ordinal);
    }

    private static (List<string> Columns, List<object?[]> Rows) Run(string uri, string sql)
    {
        using var connection = new NpgsqlConnection(PostgresLocation.Parse(uri).ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        using var reader = command.ExecuteReader();
        var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return (columns, rows);
    }

    private static Query Panel(string title) => Queries().Single(q => q.Panel == title);

    private static string Week(object? time) => ((DateTime)time!).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    [Fact]
    public void Dashboard_EveryQueryUsesTheHistoryDataSource_TheProvisionedOne()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(File_));
        foreach (var p in doc.RootElement.GetProperty("panels").EnumerateArray())
            foreach (var t in p.GetProperty("targets").EnumerateArray())
            {
                Assert.Equal("grafana-postgresql-datasource", t.GetProperty("datasource").GetProperty("type").GetString());
                Assert.Equal("${history}", t.GetProperty("datasource").GetProperty("uid").GetString());
                Assert.Contains(t.GetProperty("format").GetString(), new[] { "time_series", "table" });
            }
        var variable = doc.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray().Single(v => v.GetProperty("name").GetString() == "history");
        var provisioning = File.ReadAllText(RepoFiles.Path("grafana", "provisioning", "datasources", "reachprobe-history.yml"));
        Assert.Contains($"uid: {variable.GetProperty("current").GetProperty("value").GetString()}", provisioning);
        Assert.Contains($"type: {variable.GetProperty("query").GetString()}", provisioning);
        Assert.DoesNotMatch(@"password: [^$]", provisioning);
        // Time series come as (time, metric, value), ordered by time, as Grafana's SQL data sources want them.
        foreach (var q in Queries().Where(q => q.Format == "time_series"))
            Assert.Matches(@"ORDER BY 1\b", q.Sql);
    }

    [SkippableFact]
    public void IncidentsPerWeek_ByFirmwareAndModel_TheSharedConsoleOnce_PerSiteItsOwn()
    {
        var uri = Seed();
        var sites = Run(uri, SiteVariableQuery()).Rows.Select(r => (string)r[0]!).ToList();
        Assert.Equal(["hall-a", "hall-b"], sites);

        List<(string Week, string Metric, long Value)> Weekly(string title, params string[] only)
        {
            var (columns, rows) = Run(uri, Expand(Panel(title).Sql, only.Length > 0 ? only : sites));
            Assert.Equal(["time", "metric", "value"], columns);
            return rows.Select(r => (Week(r[0]), (string)r[1]!, (long)r[2]!)).ToList();
        }

        Assert.Equal([("2026-11-02", "9.00", 2L), ("2026-11-02", "9.03", 2L), ("2026-11-16", "9.03", 1L)], Weekly("Incidents per week by firmware"));
        Assert.Equal([("2026-11-02", "PS5", 4L), ("2026-11-16", "PS5", 1L)], Weekly("Incidents per week by model"));
        // Each site alone counts the spell it saw.
        Assert.Equal([("2026-11-02", "9.00", 2L), ("2026-11-02", "9.03", 2L)], Weekly("Incidents per week by firmware", "hall-a"));
        Assert.Equal([("2026-11-02", "9.03", 1L), ("2026-11-16", "9.03", 1L)], Weekly("Incidents per week by firmware", "hall-b"));
    }

    [SkippableFact]
    public void Timeline_EachConsoleItsSpells_ThenUpAgain()
    {
        var uri = Seed();
        var (columns, rows) = Run(uri, Expand(Panel("Incident timeline per console").Sql, ["hall-a", "hall-b"]));
        Assert.Equal(["time", "metric", "value"], columns);
        Assert.Equal(rows.Select(r => (DateTime)r[0]!).Order(), rows.Select(r => (DateTime)r[0]!));
        List<(double Hours, int Value)> Of(string console) =>
            rows.Where(r => (string)r[1]! == console).Select(r => (Math.Round((new DateTimeOffset((DateTime)r[0]!) - FleetHistory.T0).TotalHours, 2), (int)r[2]!)).ToList();
        // deaf = 2, down = 3, unresponsive = 4 (the panel's value mappings), up = 1 at each incident's end.
        Assert.Equal([(10.0, 2), (10.07, 1), (30.0, 2), (30.1, 1)], Of("ps5-1 @ hall-a"));
        Assert.Equal([(50.0, 3), (50.17, 1)], Of("ps5-2 @ hall-a"));
        Assert.Equal([(70.0, 2), (70.13, 1), (338.0, 4), (338.5, 1)], Of("ps5-3 @ hall-b"));
        Assert.Equal([(70.0, 2), (70.13, 1)], Of("ps5-3 @ hall-a"));
        using var doc = JsonDocument.Parse(File.ReadAllText(File_));
        var mappings = doc.RootElement.GetProperty("panels").EnumerateArray().Single(p => p.GetProperty("title").GetString() == "Incident timeline per console")
            .GetProperty("fieldConfig").GetProperty("defaults").GetProperty("mappings")[0].GetProperty("options");
        Assert.Equal(["up", "deaf", "down", "unresponsive"], new[] { "1", "2", "3", "4" }.Select(k => mappings.GetProperty(k).GetProperty("text").GetString()));
    }

    [SkippableFact]
    public void TimeToRecover_MedianAndP95ByFirmware_AndTheIncidentList()
    {
        var uri = Seed();
        var (columns, rows) = Run(uri, Expand(Panel("Time to recover by firmware (median and p95)").Sql, ["hall-a", "hall-b"]));
        Assert.Equal(["firmware", "median", "p95", "incidents"], columns);
        var byFirmware = rows.ToDictionary(r => (string)r[0]!, r => (Math.Round((double)r[1]!), Math.Round((double)r[2]!), (long)r[3]!));
        // 9.00: 4 and 6 min; 9.03: 10 min down, the shared 8 min spell once, 30 min unresponsive.
        Assert.Equal((300, 354, 2L), byFirmware["9.00"]);
        Assert.Equal((600, 1680, 3L), byFirmware["9.03"]);

        (columns, rows) = Run(uri, Expand(Panel("Incidents").Sql, ["hall-a", "hall-b"]));
        Assert.Equal(["start", "end", "target", "site", "agent", "model", "firmware", "state", "seconds", "ended"], columns);
        Assert.Equal(6, rows.Count);
        Assert.Equal(("ps5-3", "hall-b", "pi-b", "PS5", "9.03", "unresponsive", 1800.0, "recovered"),
            ((string)rows[0][2]!, (string)rows[0][3]!, (string)rows[0][4]!, (string)rows[0][5]!, (string)rows[0][6]!, (string)rows[0][7]!, (double)(decimal)rows[0][8]!, (string)rows[0][9]!));
    }

    [SkippableFact]
    public void TheReadOnlyRole_ReadsTheViewAndNothingElse()
    {
        var uri = Seed();
        var e = Assert.Throws<PostgresException>(() => Run(uri, "SELECT count(*) FROM incident"));
        Assert.Equal("42501", e.SqlState); // permission denied: the tables are the agents'
    }

    [GeneratedRegex(@"\$__timeFilter\(([^)]+)\)")]
    private static partial Regex TimeFilter();
}
