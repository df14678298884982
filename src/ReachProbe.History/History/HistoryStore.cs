using Microsoft.Data.Sqlite;
using ReachProbe.Verdict;

namespace ReachProbe.History;

/// <summary>One recorded incident.</summary>
public sealed record IncidentRecord(long Id, string Target, string State, DateTimeOffset Start, DateTimeOffset? End, string EndReason, string? Firmware,
    long IcmpUnanswered, long ArpUnanswered, long DnsRepeatedAfterAnswer, long SynRetransmittedAfterSynAck, long ArpRepeatedAfterReply, long GratuitousArp, long FramesFromTarget, string Source)
{
    /// <summary>Duration, or null while open.</summary>
    public TimeSpan? Duration => End - Start;
}

/// <summary>A firmware a target was seen with, from a time on.</summary>
public sealed record FirmwareRecord(string Target, string Firmware, DateTimeOffset Since);

/// <summary>A period during which the agent was watching (from a start mark to its stop, or its last sign of life).</summary>
public sealed record ObservedPeriod(DateTimeOffset Start, DateTimeOffset End);

/// <summary>A history database that cannot be used, with a message fit to show a person.</summary>
public sealed class HistoryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Incident history in SQLite (WAL, so a reader never blocks the agent and a write survives a crash once committed):
/// incidents with their evidence and the firmware at the time, firmware changes, and agent start/alive/stop marks, so
/// that an incident left open by a crash is closed at the last moment the agent was known alive, marked cut short.
/// </summary>
public sealed class HistoryStore : IDisposable
{
    /// <summary>Schema version this build writes; a newer database is refused rather than damaged.</summary>
    public const int SchemaVersion = 1;

    private readonly SqliteConnection _db;

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
        Exec("""
            CREATE TABLE IF NOT EXISTS incident (
              id INTEGER PRIMARY KEY, target TEXT NOT NULL, state TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER,
              end_reason TEXT NOT NULL DEFAULT 'open', firmware TEXT,
              icmp_unanswered INTEGER NOT NULL DEFAULT 0, arp_unanswered INTEGER NOT NULL DEFAULT 0,
              dns_repeated_after_answer INTEGER NOT NULL DEFAULT 0, syn_retransmitted_after_synack INTEGER NOT NULL DEFAULT 0,
              arp_repeated_after_reply INTEGER NOT NULL DEFAULT 0, gratuitous_arp INTEGER NOT NULL DEFAULT 0,
              frames_from_target INTEGER NOT NULL DEFAULT 0, source TEXT NOT NULL DEFAULT 'agent');
            CREATE INDEX IF NOT EXISTS incident_start ON incident(target, start);
            CREATE TABLE IF NOT EXISTS firmware (target TEXT NOT NULL, firmware TEXT NOT NULL, since INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS mark (kind TEXT NOT NULL, at INTEGER NOT NULL);
            """, tx);
        Exec($"PRAGMA user_version = {SchemaVersion}", tx);
        tx.Commit();
    }

    /// <summary>Marks the agent's start, first closing any incident a crash left open at the last moment the agent was known alive (reason "cut_short").</summary>
    public int Start(DateTimeOffset now)
    {
        using var tx = _db.BeginTransaction();
        var lastAlive = Scalar("SELECT MAX(at) FROM mark", tx) is long t ? t : (long?)null;
        var cut = 0;
        if (lastAlive is { } alive)
            cut = Exec("UPDATE incident SET end = MAX(start, $alive), end_reason = 'cut_short' WHERE end IS NULL AND source = 'agent'", tx, ("$alive", alive));
        Exec("INSERT INTO mark(kind, at) VALUES ('start', $at)", tx, ("$at", Ticks(now)));
        tx.Commit();
        return cut;
    }

    /// <summary>Records that the agent is alive (called every few seconds; the crash-recovery point).</summary>
    public void Alive(DateTimeOffset now) => Exec("INSERT INTO mark(kind, at) VALUES ('alive', $at)", null, ("$at", Ticks(now)));

    /// <summary>Marks a clean stop, closing open incidents as still open at the stop (reason "agent_stopped").</summary>
    public void Stop(DateTimeOffset now)
    {
        using var tx = _db.BeginTransaction();
        Exec("UPDATE incident SET end = $at, end_reason = 'agent_stopped' WHERE end IS NULL AND source = 'agent'", tx, ("$at", Ticks(now)));
        Exec("INSERT INTO mark(kind, at) VALUES ('stop', $at)", tx, ("$at", Ticks(now)));
        tx.Commit();
    }

    /// <summary>Records a new incident; returns its id.</summary>
    public long OpenIncident(string target, TargetState state, DateTimeOffset start, string? firmware, string source = "agent") =>
        (long)Scalar("INSERT INTO incident(target, state, start, firmware, source) VALUES ($t, $s, $start, $fw, $src) RETURNING id", null,
            ("$t", target), ("$s", Name(state)), ("$start", Ticks(start)), ("$fw", (object?)firmware ?? DBNull.Value), ("$src", source))!;

    /// <summary>Relabels an incident (a down host that started transmitting soon after was deaf all along).</summary>
    public void UpdateState(long id, TargetState state) => Exec("UPDATE incident SET state = $s WHERE id = $id", null, ("$s", Name(state)), ("$id", id));

    /// <summary>Closes an incident with its evidence.</summary>
    public void CloseIncident(long id, DateTimeOffset? end, string reason, EvidenceCounts evidence) =>
        Exec("""
            UPDATE incident SET end = $end, end_reason = $reason, icmp_unanswered = $e1, arp_unanswered = $e2, dns_repeated_after_answer = $e3,
              syn_retransmitted_after_synack = $e4, arp_repeated_after_reply = $e5, gratuitous_arp = $e6, frames_from_target = $e7 WHERE id = $id
            """, null, ("$end", end is { } e ? Ticks(e) : DBNull.Value), ("$reason", reason),
            ("$e1", evidence[EvidenceKind.EchoUnanswered]), ("$e2", evidence[EvidenceKind.ArpForTargetUnanswered]),
            ("$e3", evidence[EvidenceKind.DnsRepeatedAfterAnswer]), ("$e4", evidence[EvidenceKind.SynRetransmittedAfterSynAck]),
            ("$e5", evidence[EvidenceKind.ArpRepeatedAfterReply]), ("$e6", evidence[EvidenceKind.GratuitousArp]),
            ("$e7", evidence[EvidenceKind.FrameFromTarget]), ("$id", id));

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
        var tag = "import:" + source;
        if (Scalar("SELECT COUNT(*) FROM mark WHERE kind = $k", tx, ("$k", tag)) is long n && n > 0) return 0;
        var added = 0;
        foreach (var i in incidents)
        {
            var id = (long)Scalar("INSERT INTO incident(target, state, start, firmware, source) VALUES ($t, $s, $start, $fw, 'import') RETURNING id", tx,
                ("$t", i.Target), ("$s", i.State), ("$start", Ticks(i.Start)), ("$fw", (object?)firmware ?? DBNull.Value))!;
            Exec("UPDATE incident SET end = $end, end_reason = $reason, icmp_unanswered = $e1, arp_unanswered = $e2, dns_repeated_after_answer = $e3, "
                + "syn_retransmitted_after_synack = $e4, arp_repeated_after_reply = $e5, gratuitous_arp = $e6, frames_from_target = $e7 WHERE id = $id",
                tx, ("$end", Ticks(i.End ?? last)), ("$reason", i.End is null ? "capture_ended" : i.Reason),
                ("$e1", i.Evidence[EvidenceKind.EchoUnanswered]), ("$e2", i.Evidence[EvidenceKind.ArpForTargetUnanswered]),
                ("$e3", i.Evidence[EvidenceKind.DnsRepeatedAfterAnswer]), ("$e4", i.Evidence[EvidenceKind.SynRetransmittedAfterSynAck]),
                ("$e5", i.Evidence[EvidenceKind.ArpRepeatedAfterReply]), ("$e6", i.Evidence[EvidenceKind.GratuitousArp]),
                ("$e7", i.Evidence[EvidenceKind.FrameFromTarget]), ("$id", id));
            added++;
        }
        if (firmware is not null)
            foreach (var t in incidents.Select(i => i.Target).Distinct())
                Exec("INSERT INTO firmware(target, firmware, since) VALUES ($t, $f, $s)", tx, ("$t", t), ("$f", firmware), ("$s", Ticks(first)));
        Exec("INSERT INTO mark(kind, at) VALUES ($k, $at)", tx, ("$k", tag), ("$at", Ticks(first)));
        Exec("INSERT INTO mark(kind, at) VALUES ('start', $at)", tx, ("$at", Ticks(first)));
        Exec("INSERT INTO mark(kind, at) VALUES ('stop', $at)", tx, ("$at", Ticks(last)));
        tx.Commit();
        return added;
    }

    /// <summary>Incidents starting at or after <paramref name="since"/>, optionally of one target, oldest first.</summary>
    public List<IncidentRecord> Incidents(DateTimeOffset since, string? target = null)
    {
        using var cmd = Command("""
            SELECT id, target, state, start, end, end_reason, firmware, icmp_unanswered, arp_unanswered, dns_repeated_after_answer,
              syn_retransmitted_after_synack, arp_repeated_after_reply, gratuitous_arp, frames_from_target, source
            FROM incident WHERE start >= $since AND ($t IS NULL OR target = $t) ORDER BY start, id
            """, null, ("$since", Ticks(since)), ("$t", (object?)target ?? DBNull.Value));
        using var r = cmd.ExecuteReader();
        var list = new List<IncidentRecord>();
        while (r.Read())
            list.Add(new IncidentRecord(r.GetInt64(0), r.GetString(1), r.GetString(2), Time(r.GetInt64(3)), r.IsDBNull(4) ? null : Time(r.GetInt64(4)),
                r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6), r.GetInt64(7), r.GetInt64(8), r.GetInt64(9), r.GetInt64(10), r.GetInt64(11), r.GetInt64(12), r.GetInt64(13), r.GetString(14)));
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

    /// <summary>The periods the agent was watching: each start to the next stop or to its last sign of life.</summary>
    public List<ObservedPeriod> Observed()
    {
        using var cmd = Command("SELECT kind, at FROM mark ORDER BY at, rowid", null);
        using var r = cmd.ExecuteReader();
        var periods = new List<ObservedPeriod>();
        DateTimeOffset? start = null, last = null;
        while (r.Read())
        {
            var kind = r.GetString(0);
            var at = Time(r.GetInt64(1));
            if (kind == "start")
            {
                if (start is { } s && last is { } l) periods.Add(new ObservedPeriod(s, l));
                start = at;
            }
            last = at;
            if (kind == "stop" && start is { } s2)
            {
                periods.Add(new ObservedPeriod(s2, at));
                start = null;
            }
        }
        if (start is { } s3 && last is { } l3) periods.Add(new ObservedPeriod(s3, l3));
        return periods;
    }

    private static string Name(TargetState s) => s switch { TargetState.Deaf => "deaf", TargetState.Down => "down", TargetState.Up => "up", _ => "unknown" };

    private static long Ticks(DateTimeOffset t) => t.UtcTicks;

    private static DateTimeOffset Time(long ticks) => new(ticks, TimeSpan.Zero);

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
