using ReachProbe.History;
using ReachProbe.Verdict;

namespace ReachProbe.Tests.History;

public sealed class HistoryStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 20, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("reachprobe-store-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Open_NotADatabase_IsAClearError()
    {
        var db = Path.Combine(_dir, "junk.db");
        File.WriteAllText(db, new string('x', 4096));
        var e = Assert.Throws<HistoryException>(() => HistoryStore.Open(db));
        Assert.Equal($"{db}: not a ReachProbe history database, or corrupt (SQLite: file is not a database)", e.Message);
    }
}

public sealed class HistoryStoreMigrationTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 20, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("reachprobe-migrate-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The schema and rows exactly as the first release (schema 1) wrote them.</summary>
    private static void WriteSchema1(string db)
    {
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        long T(TimeSpan after) => (T0 + after).UtcTicks;
        cmd.CommandText = $"""
            CREATE TABLE incident (
              id INTEGER PRIMARY KEY, target TEXT NOT NULL, state TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER,
              end_reason TEXT NOT NULL DEFAULT 'open', firmware TEXT,
              icmp_unanswered INTEGER NOT NULL DEFAULT 0, arp_unanswered INTEGER NOT NULL DEFAULT 0,
              dns_repeated_after_answer INTEGER NOT NULL DEFAULT 0, syn_retransmitted_after_synack INTEGER NOT NULL DEFAULT 0,
              arp_repeated_after_reply INTEGER NOT NULL DEFAULT 0, gratuitous_arp INTEGER NOT NULL DEFAULT 0,
              frames_from_target INTEGER NOT NULL DEFAULT 0, source TEXT NOT NULL DEFAULT 'agent');
            CREATE INDEX incident_start ON incident(target, start);
            CREATE TABLE firmware (target TEXT NOT NULL, firmware TEXT NOT NULL, since INTEGER NOT NULL);
            CREATE TABLE mark (kind TEXT NOT NULL, at INTEGER NOT NULL);
            PRAGMA user_version = 1;
            INSERT INTO firmware VALUES ('console', '7.02', {T(TimeSpan.Zero)});
            INSERT INTO mark VALUES ('start', {T(TimeSpan.Zero)}), ('alive', {T(TimeSpan.FromSeconds(5))}), ('alive', {T(TimeSpan.FromMinutes(10))});
            INSERT INTO mark VALUES ('start', {T(TimeSpan.FromHours(1))}), ('alive', {T(TimeSpan.FromHours(1.5))}), ('stop', {T(TimeSpan.FromHours(2))});
            INSERT INTO mark VALUES ('import:/tmp/c.pcap', {T(TimeSpan.FromHours(3))}), ('start', {T(TimeSpan.FromHours(3))}), ('stop', {T(TimeSpan.FromHours(4))});
            INSERT INTO incident VALUES (1, 'console', 'deaf', {T(TimeSpan.FromMinutes(1))}, {T(TimeSpan.FromMinutes(10))}, 'cut_short', '7.02', 239, 186, 47, 24, 20, 1, 119, 'agent');
            INSERT INTO incident VALUES (2, 'console', 'down', {T(TimeSpan.FromHours(3.5))}, {T(TimeSpan.FromHours(3.6))}, 'recovered', NULL, 3, 0, 0, 0, 0, 0, 0, 'import');
            """;
        cmd.ExecuteNonQuery();
    }

    [Fact]
    public void Open_Schema1Database_MigratesEvidenceRunsAndImports()
    {
        var db = Path.Combine(_dir, "v1.db");
        WriteSchema1(db);
        using (var store = HistoryStore.Open(db))
        {
            var incidents = store.Incidents(T0);
            Assert.Equal(2, incidents.Count);
            var deaf = incidents[0];
            Assert.Equal(("deaf", "cut_short", "7.02"), (deaf.State, deaf.EndReason, deaf.Firmware));
            Assert.Equal(239, deaf.Count(EvidenceKind.EchoUnanswered));
            Assert.Equal(186, deaf.Count(EvidenceKind.ArpForTargetUnanswered));
            Assert.Equal(47, deaf.Count(EvidenceKind.DnsRepeatedAfterAnswer));
            Assert.Equal(24, deaf.Count(EvidenceKind.SynRetransmittedAfterSynAck));
            Assert.Equal(20, deaf.Count(EvidenceKind.ArpRepeatedAfterReply));
            Assert.Equal(1, deaf.Count(EvidenceKind.GratuitousArp));
            Assert.Equal(119, deaf.Count(EvidenceKind.FrameFromTarget));
            Assert.Equal(7, deaf.Evidence.Count);
            Assert.Equal(3, Assert.Single(incidents[1].Evidence).Value);
            Assert.Equal(
                [new ObservedPeriod(T0, T0.AddMinutes(10)), new ObservedPeriod(T0.AddHours(1), T0.AddHours(2)), new ObservedPeriod(T0.AddHours(3), T0.AddHours(4))],
                store.Observed());
            // Schema 3: the one target the old database names has an identity (its name was not an address), and each old
            // run counts as watching it.
            var console = Assert.Single(store.Targets());
            Assert.Equal(("console", null, null), (console.Name, console.Ip, console.Mac));
            Assert.All(incidents, i => Assert.Equal(console.Id, i.TargetId));
            Assert.Equal(
                [new WatchedPeriod(console.Id, T0, T0.AddMinutes(10)), new WatchedPeriod(console.Id, T0.AddHours(1), T0.AddHours(2)), new WatchedPeriod(console.Id, T0.AddHours(3), T0.AddHours(4))],
                store.Watched());
            // The capture imported under schema 1 is still known: importing it again adds nothing.
            Assert.Equal(0, store.Import("/tmp/c.pcap", [], null, T0.AddHours(3), T0.AddHours(4)));
            Assert.Equal(["7.02"], store.Firmware("console").Select(f => f.Firmware));
        }
        using var again = HistoryStore.Open(db); // opening a migrated database is a no-op
        Assert.Equal(2, again.Incidents(T0).Count);
    }

    [Fact]
    public void OpenReadOnly_Schema1Database_IsReadThroughAnUpgradedCopy_TheFileUntouched()
    {
        var db = Path.Combine(_dir, "v1-read.db");
        WriteSchema1(db);
        var before = File.ReadAllBytes(db);
        using (var store = HistoryStore.OpenReadOnly(db))
        {
            var incidents = store.Incidents(T0);
            Assert.Equal(2, incidents.Count);
            Assert.Equal(239, incidents[0].Count(EvidenceKind.EchoUnanswered));
            Assert.Equal(3, store.Observed().Count);
        }
        Assert.Equal(before, File.ReadAllBytes(db));
        Assert.Equal(["v1-read.db"], Directory.GetFiles(_dir).Select(Path.GetFileName).Where(f => f!.StartsWith("v1-read", StringComparison.Ordinal)));
    }

    [Fact]
    public void Alive_UpdatesOneRowPerRun()
    {
        var db = Path.Combine(_dir, "alive.db");
        using (var store = HistoryStore.Open(db))
        {
            store.Start(T0);
            for (var i = 1; i <= 1000; i++) store.Alive(T0.AddSeconds(5 * i));
            Assert.Equal([new ObservedPeriod(T0, T0.AddSeconds(5000))], store.Observed());
        }
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM run";
        Assert.Equal(1L, cmd.ExecuteScalar());
    }

    [Fact]
    public void UpdateEvidence_OpenIncident_CountsSurviveACrash()
    {
        var db = Path.Combine(_dir, "crash.db");
        using (var store = HistoryStore.Open(db))
        {
            store.Start(T0);
            var id = store.OpenIncident("console", TargetState.Deaf, T0.AddMinutes(1), null);
            var counts = new EvidenceCounts();
            for (var i = 0; i < 5; i++) counts.Add(new Evidence(EvidenceKind.EchoUnanswered, T0.AddMinutes(1).UtcTicks + i));
            store.UpdateEvidence(id, counts);
            counts.Add(new Evidence(EvidenceKind.EchoUnanswered, T0.AddMinutes(2).UtcTicks));
            store.UpdateEvidence(id, counts);
            store.Alive(T0.AddMinutes(3));
        }
        using var after = HistoryStore.Open(db);
        after.Start(T0.AddMinutes(10));
        var i2 = Assert.Single(after.Incidents(T0));
        Assert.Equal(6, i2.Count(EvidenceKind.EchoUnanswered));
        Assert.Equal("cut_short", i2.EndReason);
    }

    [Theory]
    [InlineData("/dev/zero", "a device, a pipe or a socket, not a file")]
    [InlineData("/tmp", "a directory, not a history database")]
    public void Open_NotAFile_IsRefused_NothingWrittenBesideIt(string path, string expected)
    {
        // SQLite used to open /dev/zero and write /dev/zero-journal beside it.
        var e = Assert.Throws<ReachProbe.History.HistoryException>(() => ReachProbe.History.HistoryStore.Open(path));
        Assert.Contains(expected, e.Message);
        Assert.False(File.Exists(path + "-journal"));
    }
}
