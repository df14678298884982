using ReachProbe.Cli;
using ReachProbe.History;
using ReachProbe.Tests.History;

namespace ReachProbe.Tests.Cli;

/// <summary>
/// <c>report --db postgresql://…</c> over a fleet's history: rows per site, agent, model, firmware and their
/// combinations, filters by site and agent, who saw each incident; a console two agents watched is said once.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class FleetReportTests(PostgresFixture postgres)
{
    private static readonly DateTimeOffset Now = FleetHistory.Now;

    private string Fleet() => FleetHistory.Seed(postgres);

    private static (int Code, string Out, string Err) Report(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = ReportCommand.Run(args, o, e, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Now));
        return (code, o.ToString(), e.ToString());
    }

    private static string[] Row(string output, string key) =>
        output.Split('\n').Single(l => l.StartsWith(key + " ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);

    [SkippableFact]
    public void BySite_EachSiteItsConsolesAndIncidents_TheSharedConsoleInBoth()
    {
        var uri = Fleet();
        var (code, output, err) = Report("--db", uri, "--by", "site", "--since", "3w");
        Assert.True(code == 0, err);
        Assert.Contains("5 incident(s), 2 agents", output.Split('\n')[0]);
        // site, agents, consoles, watched, deaf, down …
        Assert.Equal(["hall-a", "1", "3", "42.0d", "3", "1"], Row(output, "hall-a")[..6]);
        Assert.Equal(["hall-b", "1", "1", "14.0d", "1", "0"], Row(output, "hall-b")[..6]);
        Assert.Contains("one console seen from several places: ps5-3 by pi-a (hall-a), pi-b (hall-b)", output);
        Assert.DoesNotContain("postgres@", output.Replace(PostgresLocation.Parse(uri).Display, ""));
    }

    [SkippableFact]
    public void ByFirmware_CountsTheSharedConsolesIncidentOnce_ByFirmwareAndSiteInEachSite()
    {
        var uri = Fleet();
        var (code, output, err) = Report("--db", uri, "--by", "firmware", "--since", "3w");
        Assert.True(code == 0, err);
        var fw903 = Row(output, "9.03");
        Assert.Equal(["9.03", "2", "2", "28.0d", "1", "1"], fw903[..6]);
        // deaf:down 1.00, median time to recover 9 m (8 and 10).
        Assert.Equal(["1.00", "9m"], fw903[^2..]);
        (code, output, err) = Report("--db", uri, "--by", "firmware,site", "--since", "3w", "--json");
        Assert.True(code == 0, err);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        var keys = doc.RootElement.GetProperty("rows").EnumerateArray().Select(r => (r.GetProperty("key").GetString(), r.GetProperty("deaf").GetInt32())).ToList();
        Assert.Equal([("9.00 / hall-a", 2), ("9.03 / hall-a", 1), ("9.03 / hall-b", 1)], keys);
    }

    [SkippableFact]
    public void SiteAndAgentFilters_AndTheIncidentListSaysWhoSawEach()
    {
        var uri = Fleet();
        var (code, output, err) = Report("--db", uri, "--site", "hall-b", "--by", "model", "--since", "3w");
        Assert.True(code == 0, err);
        Assert.Contains(", site hall-b,", output);
        Assert.Equal(["PS5", "14.0d", "1", "0"], Row(output, "PS5")[..4]);
        (code, output, err) = Report("--db", uri, "--incidents", "--since", "3w");
        Assert.True(code == 0, err);
        Assert.Contains("pi-b (hall-b)", output);
        Assert.Equal(5, output.Split('\n').Count(l => l.StartsWith("ps5-", StringComparison.Ordinal)));
        (code, _, err) = Report("--db", uri, "--by", "site,site");
        Assert.Equal(2, code);
        Assert.Contains("--by names 'site' twice", err);
    }

    [SkippableFact]
    public void ADatabaseThatIsNotThere_OrHasNoHistory_IsOneLineExitTwo()
    {
        _ = postgres.NewDatabase() ?? throw new SkipException(postgres.Unavailable!);
        var (code, output, err) = Report("--db", postgres.Cluster!.Uri("nosuchdb"));
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
        Assert.Contains("database \"nosuchdb\" does not exist", err);
        var empty = postgres.NewDatabase()!;
        (code, _, err) = Report("--db", postgres.Cluster.Uri(empty));
        Assert.Equal(2, code);
        Assert.Contains("no ReachProbe history in this database", err);
    }
}
