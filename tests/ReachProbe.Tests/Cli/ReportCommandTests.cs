using Microsoft.Data.Sqlite;
using ReachProbe.Cli;

namespace ReachProbe.Tests.Cli;

/// <summary>`report` reads and never writes: files that are not a history get one line and exit 2, and stay as they were.</summary>
public sealed class ReportCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("reachprobe-report-");

    public void Dispose() => _dir.Delete(true);

    private string File(string name) => Path.Combine(_dir.FullName, name);

    private static void Sql(string path, string sql)
    {
        using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private (int Code, string Err, string[] Files) Report(string db)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = ReportCommand.Run(["--db", db], o, e);
        Assert.Equal("", o.ToString());
        return (code, e.ToString(), _dir.GetFiles().Select(f => f.Name).Order().ToArray());
    }

    [Fact]
    public void EmptyFile_IsRefused_AndGetsNoSchema()
    {
        var db = File("empty.db");
        System.IO.File.WriteAllBytes(db, []);
        var (code, err, files) = Report(db);
        Assert.Equal(2, code);
        Assert.Equal($"reachprobe: {db}: empty, or not a regular file: not a ReachProbe history database\n", err);
        Assert.Equal(["empty.db"], files);
        Assert.Equal(0, new FileInfo(db).Length);
    }

    [Fact]
    public void DevZero_IsRefused_NoJournalBesideIt()
    {
        var (code, err, _) = Report("/dev/zero");
        Assert.Equal(2, code);
        Assert.Equal("reachprobe: /dev/zero: empty, or not a regular file: not a ReachProbe history database\n", err);
        Assert.False(System.IO.File.Exists("/dev/zero-journal"));
    }

    [Fact]
    public void SchemaVersionWithoutTables_IsNotAHistory()
    {
        var db = File("v1.db");
        Sql(db, "PRAGMA user_version = 1");
        var before = System.IO.File.ReadAllBytes(db);
        var (code, err, files) = Report(db);
        Assert.Equal(2, code);
        Assert.Equal($"reachprobe: {db}: not a ReachProbe history database (an SQLite file without its tables)\n", err);
        Assert.Equal(before, System.IO.File.ReadAllBytes(db));
        Assert.Equal(["v1.db"], files);
    }

    [Fact]
    public void TimeOutOfRange_IsOneLine()
    {
        var db = File("bad.db");
        using (var store = ReachProbe.History.HistoryStore.Open(db)) { }
        Sql(db, "INSERT INTO incident(target, state, start) VALUES ('console', 'deaf', 9223372036854775807)");
        var (code, err, _) = Report(db);
        Assert.Equal(2, code);
        Assert.Equal($"reachprobe: {db}: a time out of range (9223372036854775807): the history database is damaged\n", err);
    }

    [Fact]
    public void TextFile_IsNotADatabase()
    {
        var db = File("notes.txt");
        System.IO.File.WriteAllText(db, "hello\n");
        var (code, err, files) = Report(db);
        Assert.Equal(2, code);
        Assert.StartsWith($"reachprobe: {db}: not a ReachProbe history database", err);
        Assert.Equal("hello\n", System.IO.File.ReadAllText(db));
        Assert.Equal(["notes.txt"], files);
    }
}
