using ReachProbe.History;

namespace ReachProbe.Tests.History;

public sealed class HistoryStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 20, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("reachprobe-store-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Start_AfterACrash_ClosesTheOpenIncidentAtTheLastSignOfLife()
    {
        var db = Path.Combine(_dir, "h.db");
        using (var store = HistoryStore.Open(db))
        {
            store.Start(T0);
            store.OpenIncident("console", ReachProbe.Verdict.TargetState.Deaf, T0.AddMinutes(1), "7.02");
            store.Alive(T0.AddMinutes(5));
            // kill -9: no Stop, no close.
        }
        using (var store = HistoryStore.Open(db))
        {
            Assert.Equal(1, store.Start(T0.AddMinutes(30)));
            var i = Assert.Single(store.Incidents(T0));
            Assert.Equal("cut_short", i.EndReason);
            Assert.Equal(T0.AddMinutes(5), i.End);
            Assert.Equal("7.02", i.Firmware);
            Assert.Equal([new ObservedPeriod(T0, T0.AddMinutes(5))], store.Observed().Take(1));
        }
    }

    [Fact]
    public void Open_NotADatabase_IsAClearError()
    {
        var db = Path.Combine(_dir, "junk.db");
        File.WriteAllText(db, new string('x', 4096));
        var e = Assert.Throws<HistoryException>(() => HistoryStore.Open(db));
        Assert.Equal($"{db}: not a ReachProbe history database, or corrupt (SQLite: file is not a database)", e.Message);
    }

    [Fact]
    public void Open_NewerSchema_IsRefused()
    {
        var db = Path.Combine(_dir, "new.db");
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA user_version = 99";
            cmd.ExecuteNonQuery();
        }
        var e = Assert.Throws<HistoryException>(() => HistoryStore.Open(db));
        Assert.Equal($"{db}: the history database is from a newer ReachProbe (schema 99, this one reads 1)", e.Message);
    }

    [Fact]
    public void RecordFirmware_OnlyChangesAreRecorded()
    {
        using var store = HistoryStore.Open(Path.Combine(_dir, "fw.db"));
        Assert.True(store.RecordFirmware("console", "7.02", T0));
        Assert.False(store.RecordFirmware("console", "7.02", T0.AddHours(1)));
        Assert.True(store.RecordFirmware("console", "7.50", T0.AddHours(2)));
        Assert.Equal(["7.02", "7.50"], store.Firmware("console").Select(f => f.Firmware));
    }
}
