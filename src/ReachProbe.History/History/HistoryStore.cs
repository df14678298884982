using Microsoft.Data.Sqlite;
using ReachProbe.Verdict;

namespace ReachProbe.History;

/// <summary>One recorded incident.</summary>
/// <param name="Id">Row id.</param>
/// <param name="Target">Target name.</param>
/// <param name="State">"deaf" or "down".</param>
/// <param name="Start">Start.</param>
/// <param name="End">End, null while open.</param>
/// <param name="EndReason">Why it ended (<see cref="Names.Name(IncidentEnd)"/>).</param>
/// <param name="Firmware">Firmware at the time, if known.</param>
/// <param name="Evidence">Counts by evidence kind (kinds never seen during it are absent).</param>
/// <param name="Source">"agent" or "import".</param>
public sealed record IncidentRecord(long Id, string Target, string State, DateTimeOffset Start, DateTimeOffset? End, string EndReason, string? Firmware,
    IReadOnlyDictionary<EvidenceKind, long> Evidence, string Source)
{
    /// <summary>Duration, or null while open.</summary>
    public TimeSpan? Duration => End - Start;

    /// <summary>How many of this kind were seen during it.</summary>
    public long Count(EvidenceKind kind) => Evidence.GetValueOrDefault(kind);
}

/// <summary>A firmware a target was seen with, from a time on.</summary>
public sealed record FirmwareRecord(string Target, string Firmware, DateTimeOffset Since);

/// <summary>A period during which the agent was watching (from a start mark to its stop, or its last sign of life).</summary>
public sealed record ObservedPeriod(DateTimeOffset Start, DateTimeOffset End);

/// <summary>A history database that cannot be used, with a message fit to show a person.</summary>
public sealed class HistoryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Incident history in SQLite (WAL, so a reader never blocks the agent and a write survives a crash once committed):
/// incidents with their evidence (one row per kind, keyed by <see cref="EvidenceInfo.Name"/>) and the firmware at the
/// time, firmware changes, and one row per agent run (start, last sign of life, stop), so that an incident left open by
/// a crash is closed at the last moment the agent was known alive, marked cut short.
/// </summary>
/// <remarks>
/// Schema 1 (first release) had a column per evidence kind and a <c>mark</c> row every 5 s; <see cref="Open"/> migrates
/// it to schema 2 in one transaction.
/// </remarks>
public sealed class HistoryStore : IDisposable
{
    /// <summary>Where the agent keeps its history unless configured otherwise; <c>report</c> and <c>analyze --import</c> read it.</summary>
    public const string DefaultPath = "/var/lib/reachprobe/history.db";

    /// <summary>The database a command uses when given none: $REACHPROBE_DB, else <see cref="DefaultPath"/>.</summary>
    public static string PathFromEnvironment() => Environment.GetEnvironmentVariable("REACHPROBE_DB") is { Length: > 0 } env ? env : DefaultPath;

    /// <summary>Schema version this build writes; a newer database is refused rather than damaged.</summary>
    public const int SchemaVersion = HistorySchema.Version;

    private readonly SqliteConnection _db;
    private long? _run;

    private HistoryStore(SqliteConnection db, string path)
    {
        _db = db;
        Path = path;
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Opens (creating on first use) a history database. Throws <see cref="HistoryException"/> naming the problem.</summary>
    public static HistoryStore Open(string path)
    {
        try
        {
            var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
            var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false, DefaultTimeout = 5 }.ToString());
            db.Open();
            var store = new HistoryStore(db, path);
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
    public static HistoryStore OpenReadOnly(string path)
    {
        var info = new FileInfo(path);
        if (Directory.Exists(path)) throw new HistoryException($"{path}: a directory, not a history database");
        if (!info.Exists) throw new HistoryException($"{path}: no history database there (the agent writes one; give --db FILE)");
        if (info.Length == 0) throw new HistoryException($"{path}: empty, or not a regular file: not a ReachProbe history database");
        SqliteConnection? db = null;
        try
        {
            db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false, DefaultTimeout = 5 }.ToString());
            db.Open();
            var store = new HistoryStore(db, path);
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
            var copy = new HistoryStore(memory, path);
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

    private static string Describe(string path, SqliteException e) => e.SqliteErrorCode switch
    {
        26 => $"{path}: not a ReachProbe history database, or corrupt (SQLite: file is not a database)",
        11 => $"{path}: the history database is corrupt (SQLite: {e.Message})",
        5 or 6 => $"{path}: the history database is locked by another program",
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
        using var tx = _db.BeginTransaction();
        HistorySchema.Upgrade(new HistorySchema.Sql(_db, tx), version);
        tx.Commit();
    }

    /// <summary>Records the agent's start (a new run), first closing any incident a crash left open at the last moment the agent was known alive (reason "cut_short").</summary>
    public int Start(DateTimeOffset now)
    {
        using var tx = _db.BeginTransaction();
        var lastAlive = Scalar("SELECT MAX(last_alive) FROM run", tx) is long t ? t : (long?)null;
        var cut = 0;
        if (lastAlive is { } alive)
            cut = Exec("UPDATE incident SET end = MAX(start, $alive), end_reason = $r WHERE end IS NULL AND source = 'agent'", tx, ("$alive", alive), ("$r", IncidentEnd.CutShort.Name()));
        _run = (long)Scalar("INSERT INTO run(start, last_alive) VALUES ($at, $at) RETURNING id", tx, ("$at", Ticks(now)))!;
        tx.Commit();
        return cut;
    }

    /// <summary>Records that the agent is alive (the crash-recovery point): updates this run's row, adds none.</summary>
    public void Alive(DateTimeOffset now)
    {
        if (_run is { } run) Exec("UPDATE run SET last_alive = $at WHERE id = $id", null, ("$at", Ticks(now)), ("$id", run));
    }

    /// <summary>Records a clean stop, closing open incidents as still open at the stop (reason "agent_stopped").</summary>
    public void Stop(DateTimeOffset now)
    {
        using var tx = _db.BeginTransaction();
        Exec("UPDATE incident SET end = $at, end_reason = $r WHERE end IS NULL AND source = 'agent'", tx, ("$at", Ticks(now)), ("$r", IncidentEnd.AgentStopped.Name()));
        if (_run is { } run) Exec("UPDATE run SET last_alive = $at, stop = $at WHERE id = $id", tx, ("$at", Ticks(now)), ("$id", run));
        tx.Commit();
        _run = null;
    }

    /// <summary>Records a new incident; returns its id.</summary>
    public long OpenIncident(string target, TargetState state, DateTimeOffset start, string? firmware, string source = "agent") =>
        (long)Scalar("INSERT INTO incident(target, state, start, firmware, source) VALUES ($t, $s, $start, $fw, $src) RETURNING id", null,
            ("$t", target), ("$s", state.Name()), ("$start", Ticks(start)), ("$fw", (object?)firmware ?? DBNull.Value), ("$src", source))!;

    /// <summary>Relabels an incident (a down host that started transmitting soon after was deaf all along).</summary>
    public void UpdateState(long id, TargetState state) => Exec("UPDATE incident SET state = $s WHERE id = $id", null, ("$s", state.Name()), ("$id", id));

    /// <summary>Closes an incident with its evidence.</summary>
    public void CloseIncident(long id, DateTimeOffset? end, string reason, EvidenceCounts evidence)
    {
        using var tx = _db.BeginTransaction();
        Exec("UPDATE incident SET end = $end, end_reason = $reason WHERE id = $id", tx, ("$end", end is { } e ? Ticks(e) : DBNull.Value), ("$reason", reason), ("$id", id));
        WriteEvidence(id, evidence, tx);
        tx.Commit();
    }

    /// <summary>Saves an open incident's evidence counts so far (they survive a crash).</summary>
    public void UpdateEvidence(long id, EvidenceCounts evidence)
    {
        using var tx = _db.BeginTransaction();
        WriteEvidence(id, evidence, tx);
        tx.Commit();
    }

    private void WriteEvidence(long id, EvidenceCounts evidence, SqliteTransaction tx)
    {
        foreach (var info in EvidenceCatalog.All)
            if (evidence[info.Kind] > 0)
                Exec("INSERT INTO incident_evidence(incident, kind, count) VALUES ($id, $k, $n) ON CONFLICT(incident, kind) DO UPDATE SET count = excluded.count",
                    tx, ("$id", id), ("$k", info.Name), ("$n", evidence[info.Kind]));
    }

    /// <summary>Records the target's firmware from a time on, unless it is the one already recorded last. True when it changed.</summary>
    public bool RecordFirmware(string target, string firmware, DateTimeOffset since)
    {
        var last = Scalar("SELECT firmware FROM firmware WHERE target = $t ORDER BY since DESC, rowid DESC LIMIT 1", null, ("$t", target)) as string;
        if (last == firmware) return false;
        Exec("INSERT INTO firmware(target, firmware, since) VALUES ($t, $f, $s)", null, ("$t", target), ("$f", firmware), ("$s", Ticks(since)));
        return true;
    }

    /// <summary>
    /// Adds a capture's incidents (source "import"), with the firmware given, and the capture's span as an observed
    /// period so the report counts its time. Returns how many incidents were added; a capture imported twice adds none.
    /// </summary>
    public int Import(string source, IReadOnlyList<(string Target, string State, DateTimeOffset Start, DateTimeOffset? End, string Reason, EvidenceCounts Evidence)> incidents,
        string? firmware, DateTimeOffset first, DateTimeOffset last)
    {
        using var tx = _db.BeginTransaction();
        if (Scalar("SELECT COUNT(*) FROM imported WHERE source = $s", tx, ("$s", source)) is long n && n > 0) return 0;
        var added = 0;
        foreach (var i in incidents)
        {
            var id = (long)Scalar("INSERT INTO incident(target, state, start, firmware, source) VALUES ($t, $s, $start, $fw, 'import') RETURNING id", tx,
                ("$t", i.Target), ("$s", i.State), ("$start", Ticks(i.Start)), ("$fw", (object?)firmware ?? DBNull.Value))!;
            Exec("UPDATE incident SET end = $end, end_reason = $reason WHERE id = $id",
                tx, ("$end", Ticks(i.End ?? last)), ("$reason", i.End is null ? IncidentEnd.CaptureEnded.Name() : i.Reason), ("$id", id));
            WriteEvidence(id, i.Evidence, tx);
            added++;
        }
        if (firmware is not null)
            foreach (var t in incidents.Select(i => i.Target).Distinct())
                Exec("INSERT INTO firmware(target, firmware, since) VALUES ($t, $f, $s)", tx, ("$t", t), ("$f", firmware), ("$s", Ticks(first)));
        Exec("INSERT INTO imported(source, at) VALUES ($s, $at)", tx, ("$s", source), ("$at", Ticks(first)));
        Exec("INSERT INTO run(start, last_alive, stop) VALUES ($s, $e, $e)", tx, ("$s", Ticks(first)), ("$e", Ticks(last)));
        tx.Commit();
        return added;
    }

    /// <summary>Incidents starting at or after <paramref name="since"/>, optionally of one target, oldest first.</summary>
    public List<IncidentRecord> Incidents(DateTimeOffset since, string? target = null)
    {
        var evidence = new Dictionary<long, Dictionary<EvidenceKind, long>>();
        using (var cmd = Command("""
            SELECT e.incident, e.kind, e.count FROM incident_evidence e JOIN incident i ON i.id = e.incident
            WHERE i.start >= $since AND ($t IS NULL OR i.target = $t)
            """, null, ("$since", Ticks(since)), ("$t", (object?)target ?? DBNull.Value)))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                // A kind this build does not know (written by a newer one) is left out rather than misread.
                if (!EvidenceCatalog.TryParse(r.GetString(1), out var kind)) continue;
                var id = r.GetInt64(0);
                if (!evidence.TryGetValue(id, out var counts)) evidence[id] = counts = [];
                counts[kind] = r.GetInt64(2);
            }
        }
        using var q = Command("""
            SELECT id, target, state, start, end, end_reason, firmware, source
            FROM incident WHERE start >= $since AND ($t IS NULL OR target = $t) ORDER BY start, id
            """, null, ("$since", Ticks(since)), ("$t", (object?)target ?? DBNull.Value));
        using var rows = q.ExecuteReader();
        var list = new List<IncidentRecord>();
        while (rows.Read())
        {
            var id = rows.GetInt64(0);
            list.Add(new IncidentRecord(id, rows.GetString(1), rows.GetString(2), Time(rows.GetInt64(3)), rows.IsDBNull(4) ? null : Time(rows.GetInt64(4)),
                rows.GetString(5), rows.IsDBNull(6) ? null : rows.GetString(6), evidence.GetValueOrDefault(id) ?? [], rows.GetString(7)));
        }
        return list;
    }

    /// <summary>Every firmware change, oldest first.</summary>
    public List<FirmwareRecord> Firmware(string? target = null)
    {
        using var cmd = Command("SELECT target, firmware, since FROM firmware WHERE $t IS NULL OR target = $t ORDER BY since, rowid", null, ("$t", (object?)target ?? DBNull.Value));
        using var r = cmd.ExecuteReader();
        var list = new List<FirmwareRecord>();
        while (r.Read()) list.Add(new FirmwareRecord(r.GetString(0), r.GetString(1), Time(r.GetInt64(2))));
        return list;
    }

    /// <summary>The periods the agent was watching (or a capture covered): each run from its start to its stop or last sign of life.</summary>
    public List<ObservedPeriod> Observed()
    {
        using var cmd = Command("SELECT start, COALESCE(stop, last_alive) FROM run ORDER BY start, id", null);
        using var r = cmd.ExecuteReader();
        var periods = new List<ObservedPeriod>();
        while (r.Read()) periods.Add(new ObservedPeriod(Time(r.GetInt64(0)), Time(r.GetInt64(1))));
        return periods;
    }

    private static long Ticks(DateTimeOffset t) => t.UtcTicks;

    private static DateTimeOffset Time(long ticks) => ticks is >= 0 and <= 3155378975999999999
        ? new(ticks, TimeSpan.Zero)
        : throw new HistoryException($"a time out of range ({ticks}): the history database is damaged");

    private SqliteCommand Command(string sql, SqliteTransaction? tx, params (string, object)[] args)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        return cmd;
    }

    private int Exec(string sql, SqliteTransaction? tx = null, params (string, object)[] args)
    {
        using var cmd = Command(sql, tx, args);
        try
        {
            return cmd.ExecuteNonQuery();
        }
        catch (SqliteException e)
        {
            throw new HistoryException(Describe(Path, e), e);
        }
    }

    private object? Scalar(string sql, SqliteTransaction? tx = null, params (string, object)[] args)
    {
        using var cmd = Command(sql, tx, args);
        try
        {
            return cmd.ExecuteScalar();
        }
        catch (SqliteException e)
        {
            throw new HistoryException(Describe(Path, e), e);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _db.Dispose();
}
