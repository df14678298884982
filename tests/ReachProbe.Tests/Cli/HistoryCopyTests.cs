using ReachProbe.Cli;
using ReachProbe.History;
using ReachProbe.Tests.History;

namespace ReachProbe.Tests.Cli;

/// <summary><c>history copy</c>: an agent's SQLite history into the fleet's PostgreSQL, once; the report reads the same incidents from both.</summary>
[Collection(PostgresCollection.Name)]
public sealed class HistoryCopyTests(PostgresFixture postgres) : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 12, 0, 0, TimeSpan.Zero);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("reachprobe-copy-");

    public void Dispose() => _dir.Delete(true);

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = CommandLine.RunAsync(args, o, e, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0.AddDays(7))).GetAwaiter().GetResult();
        return (code, o.ToString(), e.ToString());
    }

    [SkippableFact]
    public void CopyTwice_CopiesOnce_TheFleetReportsWhatTheFileDoes()
    {
        var uri = postgres.Cluster?.Uri(postgres.NewDatabase()!) ?? throw new SkipException(postgres.Unavailable!);
        var file = Path.Combine(_dir.FullName, "history.db");
        using (var s = HistoryStore.Open(file, new HistoryAgent("pi-home", "flat-3")))
        {
            s.Start(T0);
            s.Watch([("ps5", "198.18.0.27", "02:00:00:00:00:27")], T0, [new Dictionary<string, string> { ["model"] = "PS5" }]);
            s.RecordFirmware("ps5", "9.00", T0);
            var evidence = new EvidenceCounts();
            evidence.Add(new Evidence(EvidenceKind.DnsRepeatedAfterAnswer, T0.UtcTicks));
            s.CloseIncident(s.OpenIncident("ps5", TargetState.Deaf, T0.AddHours(1), "9.00"), T0.AddHours(1).AddMinutes(5), "recovered", evidence);
            s.RecordFirmware("ps5", "9.03", T0.AddDays(2));
            s.CloseIncident(s.OpenIncident("ps5", TargetState.Down, T0.AddDays(3), "9.03"), T0.AddDays(3).AddMinutes(2), "recovered", new EvidenceCounts());
            s.Stop(T0.AddDays(4));
        }
        var (code, output, err) = Cli("history", "copy", "--from", file, "--to", uri);
        Assert.True(code == 0, err);
        Assert.Equal("copied 2 of 2 incident(s), 1 of 1 run(s), 2 of 2 firmware change(s)\n", output);
        Assert.Contains("as agent pi-home (site flat-3)", err);
        (code, output, err) = Cli("history", "copy", "--from", file, "--to", uri);
        Assert.True(code == 0, err);
        Assert.Equal("copied 0 of 2 incident(s), 0 of 1 run(s), 0 of 2 firmware change(s) (all were there already)\n", output);

        string Table(string db) => Cli("report", "--db", db, "--since", "2w").Out.Split('\n', 2)[1];
        Assert.Equal(Table(file), Table(uri));
        var (_, incidents, _) = Cli("report", "--db", uri, "--incidents", "--json", "--since", "2w");
        using var doc = System.Text.Json.JsonDocument.Parse(incidents);
        var first = doc.RootElement.GetProperty("incidents")[0];
        Assert.Equal(("pi-home", "flat-3", 1), (first.GetProperty("agent").GetString(), first.GetProperty("site").GetString(),
            first.GetProperty("evidence").GetProperty("dns_repeated_after_answer").GetInt32()));
        Assert.Equal("PS5", Cli("report", "--db", uri, "--by", "model", "--since", "2w").Out.Split('\n')[2].Split(' ')[0]);
    }

    [Fact]
    public void BadArguments_OneLineExitTwo()
    {
        var (code, _, err) = Cli("history", "copy", "--from", "postgresql://u@h/db", "--to", "x.db");
        Assert.Equal(2, code);
        Assert.Contains("--from takes an agent's SQLite file", err);
        (code, _, err) = Cli("history", "copy", "--from", Path.Combine(_dir.FullName, "none.db"), "--to", "postgresql://u@h:0/db");
        Assert.Equal(2, code);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
    }
}
