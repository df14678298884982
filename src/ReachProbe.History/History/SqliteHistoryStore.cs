using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace ReachProbe.History;

/// <summary>
/// The history in an SQLite file, the embedded default (WAL, so a reader never blocks the agent and a write survives a
/// crash once committed). Schema 1 (first release) had a column per evidence kind and a <c>mark</c> row every 5 s;
/// <see cref="Open"/> migrates any older schema in one transaction (<see cref="HistorySchema"/>).
/// </summary>
public sealed class SqliteHistoryStore : HistoryStore
{
    private SqliteHistoryStore(SqliteConnection db, string path, HistoryAgent agent) : base(db, path, agent)
    {
    }

    private protected override string Greatest => "MAX";

    private protected override string FirmwareOrder => "rowid";

    private protected override HistoryException Describe(DbException e) =>
        e is SqliteException s ? new HistoryException(Describe(Path, s), e) : new HistoryException($"{Path}: history database error: {e.Message}", e);

    /// <summary>Opens (creating on first use) a history database.</summary>
    public static new SqliteHistoryStore Open(string path, HistoryAgent agent)
    {
        // A device or a pipe is no database: SQLite would write its journal beside it (/dev/zero-journal).
        switch (ReachProbe.Settings.FileKinds.Of(path))
        {
            case ReachProbe.Settings.FileKind.Directory: throw new HistoryException($"{path}: a directory, not a history database (give a file, e.g. {System.IO.Path.Combine(path, "history.db")})");
            case ReachProbe.Settings.FileKind.Special: throw new HistoryException($"{path}: a device, a pipe or a socket, not a file: give a file for the history database");
        }
        try
        {
            var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
            var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false, DefaultTimeout = 5 }.ToString());
            db.Open();
            var store = new SqliteHistoryStore(db, path, agent);
            store.Initialise();
            return store;
        }
        catch (SqliteException e)
        {
            throw new HistoryException(Describe(path, e), e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HistoryException($"{path}: cannot open the history database: {e.Message}", e);
        }
    }

    /// <summary>
    /// Opens a history database to read it, never writing to it (<c>report</c>): a file that is not a regular, non-empty
    /// SQLite database written by ReachProbe is refused with one line. A database of an older schema is upgraded in
    /// memory, the file left as it is.
    /// </summary>
    public static new SqliteHistoryStore OpenReadOnly(string path)
    {
        var info = new FileInfo(path);
        if (Directory.Exists(path)) throw new HistoryException($"{path}: a directory, not a history database");
        if (ReachProbe.Settings.FileKinds.Of(path) == ReachProbe.Settings.FileKind.Special) throw new HistoryException($"{path}: a device, a pipe or a socket, not a ReachProbe history database");
        if (!info.Exists) throw new HistoryException($"{path}: no history database there (the agent writes one; give --db FILE)");
        if (info.Length == 0) throw new HistoryException($"{path}: empty, or not a regular file: not a ReachProbe history database");
        SqliteConnection? db = null;
        try
        {
            db = OpenReading(path);
            var store = new SqliteHistoryStore(db, path, HistoryAgent.Default);
            var version = Convert.ToInt32(store.Scalar("PRAGMA user_version"), System.Globalization.CultureInfo.InvariantCulture);
            if (version > SchemaVersion)
                throw new HistoryException($"{path}: the history database is from a newer ReachProbe (schema {version}, this one reads {SchemaVersion})");
            string[] tables = version == 1 ? ["incident", "firmware", "mark"] : ["incident", "incident_evidence", "firmware", "run"];
            var found = Convert.ToInt32(store.Scalar($"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ({string.Join(", ", tables.Select(t => $"'{t}'"))})"),
                System.Globalization.CultureInfo.InvariantCulture);
            if (version == 0 || found != tables.Length)
                throw new HistoryException($"{path}: not a ReachProbe history database (an SQLite file without its tables)");
            if (version == SchemaVersion) return store;
            // Schema 1: upgrade a copy in memory; the user's file is not touched.
            var memory = new SqliteConnection("Data Source=:memory:");
            memory.Open();
            db.BackupDatabase(memory);
            db.Dispose();
            db = memory;
            var copy = new SqliteHistoryStore(memory, path, HistoryAgent.Default);
            using var tx = memory.BeginTransaction();
            HistorySchema.Upgrade(new HistorySchema.Sql(memory, tx), version);
            tx.Commit();
            return copy;
        }
        catch (SqliteException e)
        {
            db?.Dispose();
            throw new HistoryException(Describe(path, e), e);
        }
        catch (HistoryException)
        {
            db?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A connection that reads and leaves nothing behind. With no <c>-wal</c> beside the file (no agent writing it, or
    /// one that stopped cleanly) the file is opened immutable: no journal, no <c>-wal</c> or <c>-shm</c> is made, and a
    /// directory the reader may not write is fine. With a <c>-wal</c> (an agent writing now, or one that crashed) the
    /// writer's files are used read-only, so what it wrote last is read too; where they cannot be (a read-only
    /// directory without <c>-shm</c>), the file alone is read.
    /// </summary>
    private static SqliteConnection OpenReading(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (File.Exists(full + "-wal"))
        {
            var live = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = full, Mode = SqliteOpenMode.ReadOnly, Pooling = false, DefaultTimeout = 5 }.ToString());
            try
            {
                live.Open();
                using var probe = live.CreateCommand();
                probe.CommandText = "SELECT count(*) FROM sqlite_master";
                probe.ExecuteScalar();
                return live;
            }
            catch (SqliteException e) when (e.SqliteErrorCode is 8 or 14)
            {
                live.Dispose();
            }
        }
        var immutable = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = "file:" + Uri.EscapeDataString(full).Replace("%2F", "/", StringComparison.Ordinal) + "?immutable=1",
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        immutable.Open();
        return immutable;
    }

    private static string Describe(string path, SqliteException e) => e.SqliteErrorCode switch
    {
        26 => $"{path}: not a ReachProbe history database, or corrupt (SQLite: file is not a database)",
        11 => $"{path}: the history database is corrupt (SQLite: {e.Message})",
        5 or 6 => $"{path}: the history database is locked by another program",
        1 => $"{path}: not a ReachProbe history database as ReachProbe writes it ({ReachProbe.Settings.Quote.Clip(e.Message)})",
        _ => $"{path}: history database error: {e.Message}",
    };

    private void Initialise()
    {
        Exec("PRAGMA busy_timeout = 5000");
        var mode = Scalar("PRAGMA journal_mode = WAL");
        _ = mode;
        Exec("PRAGMA synchronous = FULL");
        var version = Convert.ToInt32(Scalar("PRAGMA user_version"), System.Globalization.CultureInfo.InvariantCulture);
        if (version > SchemaVersion)
            throw new HistoryException($"{Path}: the history database is from a newer ReachProbe (schema {version}, this one reads {SchemaVersion})");
        if (version == SchemaVersion) return;
        using var tx = ((SqliteConnection)Db).BeginTransaction();
        HistorySchema.Upgrade(new HistorySchema.Sql((SqliteConnection)Db, tx), version);
        tx.Commit();
    }
}
