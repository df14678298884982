using ReachProbe.History;
using ReachProbe.Verdict;

namespace ReachProbe.Tests.History;

/// <summary>
/// What every history store does, whatever its engine: the same tests against SQLite (<see cref="SqliteStoreContractTests"/>)
/// and a real PostgreSQL (<see cref="PostgresStoreContractTests"/>). Observed time is each target's own, and a target is
/// one history across renames and new addresses (the cases a user met: a row at deaf 59.6 % + down 51.8 %, a deaf share
/// of 5,617 %); a crash's incident is closed at the last sign of life; many agents share one database; a write repeated
/// after a lost answer is not doubled.
/// </summary>
public abstract class HistoryStoreContract
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The one database of this test, opened anew (as agent <paramref name="agent"/>, by default this host).</summary>
    protected abstract HistoryStore Store(HistoryAgent? agent = null);

    /// <summary>Sets the database's schema version (as a newer ReachProbe would leave it).</summary>
    protected abstract void SetSchemaVersion(int version);

    /// <summary>How the database is named in messages.</summary>
    protected abstract string Name { get; }

    private static void Incident(HistoryStore s, string target, TargetState state, DateTimeOffset start, DateTimeOffset end, string? firmware) =>
        s.CloseIncident(s.OpenIncident(target, state, start, firmware), end, "recovered", new EvidenceCounts());

    private static List<ReportRow> ByFirmware(HistoryStore s, DateTimeOffset until) =>
        HistoryReport.ByFirmware(s.Incidents(T0.AddDays(-1)), s.Firmware(), s.Watched(), T0.AddDays(-1), until);

    [SkippableFact]
    public void ARunThatWatchedOneConsole_IsNotCreditedToAnother_NoRowPasses100Percent()
    {
        using var s = Store();
        // Run 1: only console A (firmware 7.02), an hour.
        s.Start(T0);
        s.Watch("a", "198.18.0.27", null, T0);
        s.RecordFirmware("a", "7.02", T0);
        s.Stop(T0.AddMinutes(60));
        // Run 2: only console B (firmware 9.00), ten minutes: deaf six of them, then down four.
        s.Start(T0.AddMinutes(60));
        s.Watch("b", "198.18.0.28", null, T0.AddMinutes(60));
        s.RecordFirmware("b", "9.00", T0.AddMinutes(60));
        Incident(s, "b", TargetState.Deaf, T0.AddMinutes(60), T0.AddMinutes(66), "9.00");
        Incident(s, "b", TargetState.Down, T0.AddMinutes(66), T0.AddMinutes(70), "9.00");
        s.Stop(T0.AddMinutes(70));

        var rows = ByFirmware(s, T0.AddMinutes(70));
        Assert.Equal(["7.02", "9.00"], rows.Select(r => r.Key));
        Assert.Equal(TimeSpan.FromMinutes(60).TotalSeconds, TimeSpan.FromDays(rows[0].DaysObserved).TotalSeconds, 3);
        Assert.Equal(0, rows[0].ShareDeaf + rows[0].ShareDown);
        Assert.Equal(TimeSpan.FromMinutes(10).TotalSeconds, TimeSpan.FromDays(rows[1].DaysObserved).TotalSeconds, 3);
        Assert.Equal(0.6, rows[1].ShareDeaf, 9);
        Assert.Equal(0.4, rows[1].ShareDown, 9);
        Assert.All(rows, r => Assert.InRange(r.ShareDeaf + r.ShareDown + r.ShareUnresponsive, 0, 1 + 1e-9));
    }

    [SkippableFact]
    public void ARenamedTarget_KeepsOneHistory_ItsShareIsOfItsOwnTime()
    {
        using var s = Store();
        // Named "console" for 20 s, then the same console unnamed (its address) for 35 s with a 15 s deaf incident.
        s.Start(T0);
        s.Watch("console", "198.18.0.27", null, T0);
        s.Stop(T0.AddSeconds(20));
        s.Start(T0.AddSeconds(20));
        s.Watch("198.18.0.27", "198.18.0.27", null, T0.AddSeconds(20));
        Incident(s, "198.18.0.27", TargetState.Deaf, T0.AddSeconds(30), T0.AddSeconds(45), null);
        s.Stop(T0.AddSeconds(55));

        var target = Assert.Single(s.Targets());
        Assert.Equal(("198.18.0.27", "198.18.0.27"), (target.Name, target.Ip));
        var row = Assert.Single(ByFirmware(s, T0.AddSeconds(55)));
        Assert.Equal(TimeSpan.FromSeconds(55).TotalSeconds, TimeSpan.FromDays(row.DaysObserved).TotalSeconds, 3);
        Assert.Equal(15.0 / 55, row.ShareDeaf, 9);
        // Asked for by its old name, its new name or its address, it is the same target.
        Assert.Single(s.Incidents(T0, "198.18.0.27"));
        Assert.Equal(2, s.Watched("198.18.0.27").Count);
    }

    [SkippableFact]
    public void AConsoleThatDhcpMoved_IsOneTargetOnceItsMacIsKnown()
    {
        using var s = Store();
        s.Start(T0);
        s.Watch("console", "198.18.0.27", "02:00:00:00:00:27", T0);
        Incident(s, "console", TargetState.Deaf, T0.AddMinutes(1), T0.AddMinutes(2), "7.02");
        s.Stop(T0.AddMinutes(5));
        // Next day it is at another address, under another name; its MAC is learned a moment after the start.
        s.Start(T0.AddDays(1));
        s.Watch("living-room", "198.18.0.40", null, T0.AddDays(1));
        Assert.Equal(2, s.Targets().Count);
        s.Target("living-room", "198.18.0.40", "02:00:00:00:00:27");
        Incident(s, "living-room", TargetState.Down, T0.AddDays(1).AddMinutes(1), T0.AddDays(1).AddMinutes(3), "7.02");
        s.Stop(T0.AddDays(1).AddMinutes(5));

        var target = Assert.Single(s.Targets());
        Assert.Equal(("living-room", "198.18.0.40", "02:00:00:00:00:27"), (target.Name, target.Ip, target.Mac));
        Assert.Equal(2, s.Incidents(T0).Count(i => i.TargetId == target.Id));
        Assert.Equal(2, s.Watched().Count(w => w.Target == target.Id));
        // By its MAC too.
        Assert.Equal(2, s.Incidents(T0, "02:00:00:00:00:27").Count);
        var row = Assert.Single(ByFirmware(s, T0.AddDays(2)), r => r.Key == "7.02");
        Assert.Equal(1, row.Deaf);
        Assert.Equal(1, row.Down);
    }

    [SkippableFact]
    public void AReloadThatRemovesATarget_EndsItsWatchedTime_TheOthersGoOn()
    {
        using var s = Store();
        s.Start(T0);
        s.Watch("a", "198.18.0.27", null, T0);
        s.Watch("b", "198.18.0.28", null, T0);
        s.Unwatch("b", T0.AddMinutes(10));
        s.Alive(T0.AddMinutes(30)); // then the agent is killed
        using var again = Store();
        again.Start(T0.AddHours(1)); // the crash's watches end at the last sign of life
        var byTarget = again.Watched().GroupBy(w => w.Target).ToDictionary(g => again.Targets().Single(t => t.Id == g.Key).Name, g => g.Sum(w => (w.End - w.Start).TotalMinutes));
        Assert.Equal(30, byTarget["a"], 6);
        Assert.Equal(10, byTarget["b"], 6);
    }

    [SkippableFact]
    public void Start_AfterACrash_ClosesTheOpenIncidentAtTheLastSignOfLife()
    {
        using (var store = Store())
        {
            store.Start(T0);
            store.OpenIncident("console", TargetState.Deaf, T0.AddMinutes(1), "7.02");
            store.Alive(T0.AddMinutes(5));
            // kill -9: no Stop, no close.
        }
        using (var store = Store())
        {
            Assert.Equal(1, store.Start(T0.AddMinutes(30)));
            var i = Assert.Single(store.Incidents(T0));
            Assert.Equal("cut_short", i.EndReason);
            Assert.Equal(T0.AddMinutes(5), i.End);
            Assert.Equal("7.02", i.Firmware);
            Assert.Equal([new ObservedPeriod(T0, T0.AddMinutes(5))], store.Observed().Take(1));
        }
    }

    [SkippableFact]
    public void RecordFirmware_OnlyChangesAreRecorded()
    {
        using var store = Store();
        Assert.True(store.RecordFirmware("console", "7.02", T0));
        Assert.False(store.RecordFirmware("console", "7.02", T0.AddHours(1)));
        Assert.True(store.RecordFirmware("console", "7.50", T0.AddHours(2)));
        Assert.Equal(["7.02", "7.50"], store.Firmware("console").Select(f => f.Firmware));
    }

    [SkippableFact]
    public void Incidents_KeepTheirEvidence_StateChanges_AndWhoWroteThem()
    {
        var hall = new HistoryAgent("pi-hall-a", "venue");
        using var store = Store(hall);
        store.Start(T0);
        var id = store.OpenIncident("console", TargetState.Down, T0.AddMinutes(1), "9.00");
        store.UpdateState(id, TargetState.Deaf);
        var evidence = new EvidenceCounts();
        for (var n = 0; n < 7; n++) evidence.Add(new Evidence(EvidenceKind.DnsRepeatedAfterAnswer, T0.UtcTicks));
        evidence.Add(new Evidence(EvidenceKind.EchoUnanswered, T0.UtcTicks));
        store.UpdateEvidence(id, evidence);
        evidence.Add(new Evidence(EvidenceKind.EchoUnanswered, T0.UtcTicks));
        store.CloseIncident(id, T0.AddMinutes(3), "recovered", evidence);
        var i = Assert.Single(store.Incidents(T0));
        Assert.Equal(("deaf", "recovered", "9.00", "pi-hall-a", "venue"), (i.State, i.EndReason, i.Firmware, i.Agent, i.Site));
        Assert.Equal(7, i.Count(EvidenceKind.DnsRepeatedAfterAnswer));
        Assert.Equal(2, i.Count(EvidenceKind.EchoUnanswered));
        Assert.Equal(TimeSpan.FromMinutes(2), i.Duration);
    }

    [SkippableFact]
    public void AWriteRepeatedAfterItsAnswerWasLost_IsNotDoubled()
    {
        using var store = Store();
        store.Start(T0);
        var run = store.Run;
        // The same start again (its commit landed, the answer did not): the same run, not a second.
        store.Start(T0);
        Assert.Equal(run, store.Run);
        var first = store.OpenIncident("console", TargetState.Deaf, T0.AddMinutes(1), null);
        Assert.Equal(first, store.OpenIncident("console", TargetState.Deaf, T0.AddMinutes(1), null));
        store.Watch("console", "198.18.0.27", null, T0);
        store.Watch("console", "198.18.0.27", null, T0);
        Assert.Single(store.Incidents(T0));
        Assert.Single(store.Observed());
        Assert.Single(store.Watched());
    }

    [SkippableFact]
    public void TwoAgentsOnOneDatabase_KeepTheirOwnRunsAndIncidents_SameNameIsTwoDevices_SameMacIsOne()
    {
        var a = new HistoryAgent("pi-a", "hall-a");
        var b = new HistoryAgent("pi-b", "hall-b");
        using var sa = Store(a);
        using var sb = Store(b);
        sa.Start(T0);
        sb.Start(T0);
        sa.Watch("console", "198.18.0.27", null, T0);
        sb.Watch("console", "198.18.0.27", null, T0);
        sa.OpenIncident("console", TargetState.Deaf, T0.AddMinutes(1), "9.00");
        var open = sb.OpenIncident("console", TargetState.Down, T0.AddMinutes(2), "9.03");
        sa.Alive(T0.AddMinutes(3));
        // Agent A crashes and starts again: its own open incident is cut short, B's stays open.
        using (var again = Store(a)) Assert.Equal(1, again.Start(T0.AddMinutes(10)));
        var incidents = sa.Incidents(T0);
        Assert.Equal(2, incidents.Count);
        Assert.Equal(("pi-a", "hall-a", "cut_short"), (incidents[0].Agent, incidents[0].Site, incidents[0].EndReason));
        Assert.Equal(("pi-b", "hall-b", "open"), (incidents[1].Agent, incidents[1].Site, incidents[1].EndReason));
        Assert.Null(incidents[1].End);
        // "console" on two agents: two devices.
        Assert.Equal(2, sa.Targets().Count);
        Assert.NotEqual(incidents[0].TargetId, incidents[1].TargetId);
        Assert.Equal(["hall-a", "hall-b"], sa.Watched().Select(w => w.Site).Order());
        // Until both learn its MAC: one console seen from two places.
        sa.Target("console", "198.18.0.27", "02:00:00:00:00:27");
        sb.Target("console", "198.18.0.27", "02:00:00:00:00:27");
        Assert.Single(sa.Targets());
        Assert.Single(sa.Incidents(T0).Select(i => i.TargetId).Distinct());
        sb.CloseIncident(open, T0.AddMinutes(4), "recovered", new EvidenceCounts());
        sb.Stop(T0.AddMinutes(5));
    }

    [SkippableFact]
    public void Labels_AreTheTargetsLast_AndFollowAMerge()
    {
        using var s = Store();
        s.Start(T0);
        s.Watch([("ps5", "198.18.0.27", null), ("tv", "198.18.0.30", null)], T0,
            [new Dictionary<string, string> { ["room"] = "living", ["model"] = "PS5" }, new Dictionary<string, string> { ["room"] = "bedroom" }]);
        s.Watch([("ps5", "198.18.0.27", null)], T0.AddMinutes(1), [new Dictionary<string, string> { ["room"] = "kitchen" }]);
        var rooms = s.LabelValues("room");
        Assert.Equal(["bedroom", "kitchen"], rooms.Values.Order());
        Assert.Empty(s.LabelValues("model"));
    }

    [SkippableFact]
    public void ACaptureImportedTwice_AddsItsIncidentsOnce()
    {
        using var s = Store();
        var incidents = new List<(string, string, DateTimeOffset, DateTimeOffset?, string, EvidenceCounts)>
        {
            ("console", "deaf", T0.AddSeconds(10), T0.AddSeconds(40), "recovered", new EvidenceCounts()),
            ("console", "down", T0.AddSeconds(50), null, "open", new EvidenceCounts()),
        };
        Assert.Equal(2, s.Import("capture.pcap#abc", incidents, "7.02", T0, T0.AddMinutes(1), [("console", "198.18.0.27", null)]));
        Assert.Equal(0, s.Import("capture.pcap#abc", incidents, "7.02", T0, T0.AddMinutes(1), [("console", "198.18.0.27", null)]));
        var list = s.Incidents(T0);
        Assert.Equal(["recovered", "capture_ended"], list.Select(i => i.EndReason));
        Assert.All(list, i => Assert.Equal("import", i.Source));
        Assert.Equal(T0.AddMinutes(1), list[1].End);
        Assert.Equal(TimeSpan.FromMinutes(1), Assert.Single(s.Watched()) is var w ? w.End - w.Start : default);
    }

    [SkippableFact]
    public void ANewerSchema_IsRefusedWithOneLine()
    {
        using (var s = Store()) s.Start(T0);
        SetSchemaVersion(99);
        var e = Assert.Throws<HistoryException>(() => Store());
        Assert.Equal($"{Name}: the history database is from a newer ReachProbe (schema 99, this one reads {HistoryStore.SchemaVersion})", e.Message);
    }
}

/// <summary>The store contract on SQLite.</summary>
public sealed class SqliteStoreContractTests : HistoryStoreContract, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reachprobe-accounting-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    protected override string Name => Path.Combine(_dir, "history.db");

    protected override HistoryStore Store(HistoryAgent? agent = null) => HistoryStore.Open(Name, agent);

    protected override void SetSchemaVersion(int version)
    {
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Name};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"PRAGMA user_version = {version}";
        cmd.ExecuteNonQuery();
    }
}

/// <summary>The store contract on a real PostgreSQL: a throwaway cluster for the test run, a database per test.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresStoreContractTests(PostgresFixture postgres) : HistoryStoreContract
{
    private readonly string? _database = postgres.NewDatabase();

    private string Uri => _database is null ? throw new SkipException(postgres.Unavailable!) : postgres.Cluster!.Uri(_database);

    protected override string Name => PostgresLocation.Parse(Uri).Display;

    protected override HistoryStore Store(HistoryAgent? agent = null) => HistoryStore.Open(Uri, agent);

    protected override void SetSchemaVersion(int version) => postgres.Cluster!.Psql(_database!, $"UPDATE reachprobe_schema SET version = {version}");
}
