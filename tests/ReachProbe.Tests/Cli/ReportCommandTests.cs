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
        Assert.Equal("reachprobe: /dev/zero: a device, a pipe or a socket, not a ReachProbe history database\n", err);
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

    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A history as an agent that stopped cleanly leaves it: the file alone.</summary>
    private string History()
    {
        var db = File("history.db");
        using (var store = ReachProbe.History.HistoryStore.Open(db))
        {
            store.Start(T0);
            store.Watch("console", "198.18.0.27", null, T0);
            store.CloseIncident(store.OpenIncident("console", ReachProbe.Verdict.TargetState.Deaf, T0.AddMinutes(1), "7.02"), T0.AddMinutes(2), "recovered", new ReachProbe.Verdict.EvidenceCounts());
            store.Stop(T0.AddMinutes(10));
        }
        SqliteConnection.ClearAllPools();
        return db;
    }

    [Fact]
    public void Report_LeavesNothingBeside_TheDatabase_NorChangesIt()
    {
        var db = History();
        Assert.Equal(["history.db"], _dir.GetFiles().Select(f => f.Name).ToArray());
        var before = System.IO.File.ReadAllBytes(db);
        foreach (var args in new[] { new[] { "--db", db, "--since", "1000w" }, ["--db", db, "--incidents", "--since", "1000w"], ["--db", db, "--by", "week", "--json", "--since", "1000w"] })
        {
            var o = new StringWriter();
            Assert.Equal(0, ReportCommand.Run(args, o, new StringWriter()));
            Assert.Contains("1 incident", o.ToString().Replace("\"deaf\"", "1 incident", StringComparison.Ordinal));
        }
        Assert.Equal(["history.db"], _dir.GetFiles().Select(f => f.Name).ToArray());
        Assert.Equal(before, System.IO.File.ReadAllBytes(db));
    }

    [Fact]
    public void Report_ByLabel_RowsPerValueOfTheTargetsOwnLabel()
    {
        // Two consoles in the living room, one in the bedroom, one with no room: a week each.
        var db = File("labels.db");
        using (var store = ReachProbe.History.HistoryStore.Open(db))
        {
            store.Start(T0);
            var living = new Dictionary<string, string> { ["room"] = "living" };
            store.Watch([("ps5", "198.18.0.27", null), ("ps4", "198.18.0.28", null), ("bed", "198.18.0.29", null), ("tv", "198.18.0.30", null)], T0,
                [living, living, new Dictionary<string, string> { ["room"] = "bedroom", ["model"] = "PS5" }, new Dictionary<string, string>()]);
            store.CloseIncident(store.OpenIncident("ps5", ReachProbe.Verdict.TargetState.Deaf, T0.AddDays(1), "7.02"), T0.AddDays(1).AddMinutes(5), "recovered", new ReachProbe.Verdict.EvidenceCounts());
            store.CloseIncident(store.OpenIncident("bed", ReachProbe.Verdict.TargetState.Down, T0.AddDays(2), "8.00"), T0.AddDays(2).AddMinutes(1), "recovered", new ReachProbe.Verdict.EvidenceCounts());
            store.Stop(T0.AddDays(7));
        }
        SqliteConnection.ClearAllPools();
        var o = new StringWriter();
        Assert.Equal(0, ReportCommand.Run(["--db", db, "--by", "label:room", "--since", "1000w"], o, new StringWriter()));
        var lines = o.ToString().Split('\n');
        Assert.StartsWith("room ", lines[1]);
        Assert.Matches(@"^\(none\)\s+7\.0d\s+0\s+0\s", lines[2]);
        Assert.Matches(@"^bedroom\s+7\.0d\s+0\s+1\s.*8\.00", lines[3]);
        Assert.Matches(@"^living\s+14\.0d\s+1\s+0\s.*7\.02", lines[4]);
        o = new StringWriter();
        Assert.Equal(0, ReportCommand.Run(["--db", db, "--by", "label:room", "--json", "--since", "1000w"], o, new StringWriter()));
        Assert.Contains("\"by\": \"label:room\"", o.ToString());
        Assert.Contains("\"label\": \"living\"", o.ToString());
        // A label no target carries: one row of them all, and said.
        o = new StringWriter();
        Assert.Equal(0, ReportCommand.Run(["--db", db, "--by", "label:floor", "--since", "1000w"], o, new StringWriter()));
        Assert.Contains("no target carries the label 'floor'", o.ToString());
        var e = new StringWriter();
        Assert.Equal(2, ReportCommand.Run(["--db", db, "--by", "label:9x"], new StringWriter(), e));
        Assert.Contains("--by label:NAME: '9x' is not a label name", e.ToString());
    }

    [Fact]
    public void Report_ReadsWhatARunningAgentWrote_WhileItWrites()
    {
        var db = File("live.db");
        using var agent = ReachProbe.History.HistoryStore.Open(db);
        agent.Start(T0);
        agent.Watch("console", "198.18.0.27", null, T0);
        agent.OpenIncident("console", ReachProbe.Verdict.TargetState.Deaf, T0.AddMinutes(1), "7.02");
        agent.Alive(T0.AddMinutes(3));
        Assert.True(System.IO.File.Exists(db + "-wal"), "the agent's writes are in its WAL");
        var o = new StringWriter();
        Assert.Equal(0, ReportCommand.Run(["--db", db, "--incidents", "--since", "1000w"], o, new StringWriter()));
        Assert.Contains("console", o.ToString());
        Assert.Contains(" open ", o.ToString());
        agent.Alive(T0.AddMinutes(4)); // and the agent goes on writing
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Report_AsAUserWhoMayNotWriteTheDirectory_Works()
    {
        ReachProbe.Testing.LabNetwork.RequireRoot();
        var db = History();
        System.IO.File.SetUnixFileMode(_dir.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        System.IO.File.SetUnixFileMode(db, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var dll = Path.Combine(AppContext.BaseDirectory, "reachprobe.dll");
        var start = new System.Diagnostics.ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--reuid=nobody", "--regid=nogroup", "--clear-groups", "dotnet", dll, "report", "--db", db, "--incidents", "--since", "1000w" }) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_HOME"] = "/tmp";
        start.Environment["HOME"] = "/tmp";
        using var p = System.Diagnostics.Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000));
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {stderr}");
        Assert.Contains("deaf", await stdout);
        Assert.Equal(["history.db"], _dir.GetFiles().Select(f => f.Name).ToArray());
    }

    [Theory]
    [InlineData("UPDATE firmware SET firmware = NULL")]
    [InlineData("UPDATE incident SET state = NULL")]
    [InlineData("ALTER TABLE firmware DROP COLUMN since")]
    public void ReachProbesTables_ButNotAsItWritesThem_OneLineExitTwo(string damage)
    {
        // It crashed with a stack trace (exit 134). The tables are copied without their constraints, then damaged.
        var db = File("damaged.db");
        using (var store = ReachProbe.History.HistoryStore.Open(db))
        {
            var now = DateTimeOffset.UtcNow.AddHours(-1);
            store.Start(now);
            store.RecordFirmware("console", "11.00", now);
            store.OpenIncident("console", ReachProbe.Verdict.TargetState.Deaf, now.AddMinutes(1), "11.00");
        }
        foreach (var table in new[] { "incident", "firmware", "target" })
            Sql(db, $"CREATE TABLE {table}_copy AS SELECT * FROM {table}; DROP TABLE {table}; ALTER TABLE {table}_copy RENAME TO {table};");
        Sql(db, damage);
        var (code, err, _) = Report(db);
        Assert.Equal(2, code);
        Assert.StartsWith($"reachprobe: {db}: not a ReachProbe history database as ReachProbe writes it (", err);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
    }
}
