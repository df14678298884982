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
    /// <summary>The target's identity (its row in <c>target</c>); <see cref="Target"/> is its name now.</summary>
    public long TargetId { get; init; }

    /// <summary>Duration, or null while open.</summary>
    public TimeSpan? Duration => End - Start;

    /// <summary>How many of this kind were seen during it.</summary>
    public long Count(EvidenceKind kind) => Evidence.GetValueOrDefault(kind);
}

/// <summary>A firmware a target was seen with, from a time on.</summary>
public sealed record FirmwareRecord(string Target, string Firmware, DateTimeOffset Since)
{
    /// <summary>The target's identity.</summary>
    public long TargetId { get; init; }
}

/// <summary>A target as the history knows it: one identity across renames and new addresses (by MAC, else address).</summary>
/// <param name="Id">Its row.</param>
/// <param name="Name">Its name now (the last one the agent used).</param>
/// <param name="Ip">Its address now, if known.</param>
/// <param name="Mac">Its MAC, once known.</param>
public sealed record TargetRecord(long Id, string Name, string? Ip, string? Mac);

/// <summary>A period during which one target was watched (by an agent run, or an imported capture).</summary>
public sealed record WatchedPeriod(long Target, DateTimeOffset Start, DateTimeOffset End);

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
    public static string DefaultPath { get; } = DefaultFor(Environment.GetEnvironmentVariable, Environment.IsPrivilegedProcess);

    /// <summary>What <see cref="DefaultPath"/> says in help: where it depends on who runs it.</summary>
    public const string DefaultPathText = "$STATE_DIRECTORY/history.db under systemd, /var/lib/reachprobe/history.db as root, else ~/.local/state/reachprobe/history.db";

    /// <summary>
    /// The history's default place: the state directory systemd gave the service (<c>$STATE_DIRECTORY</c>), else
    /// <c>/var/lib/reachprobe</c> for root, else the user's own state directory (<c>$XDG_STATE_HOME</c>, by default
    /// <c>~/.local/state</c>) — a person trying it out writes nothing outside their home.
    /// </summary>
    public static string DefaultFor(Func<string, string?> environment, bool root)
    {
        if (environment("STATE_DIRECTORY") is { Length: > 0 } state) return System.IO.Path.Combine(state.Split(':')[0], "history.db");
        if (root) return "/var/lib/reachprobe/history.db";
        var xdg = environment("XDG_STATE_HOME") is { Length: > 0 } x && System.IO.Path.IsPathRooted(x) ? x
            : System.IO.Path.Combine(environment("HOME") is { Length: > 0 } home ? home : "/tmp", ".local", "state");
        return System.IO.Path.Combine(xdg, "reachprobe", "history.db");
    }

    /// <summary>The database a command uses when given none: $REACHPROBE_DB, else <see cref="DefaultPath"/>.</summary>
    public static string PathFromEnvironment() => Environment.GetEnvironmentVariable("REACHPROBE_DB") is { Length: > 0 } env ? env : DefaultPath;

    /// <summary>Schema version this build writes; a newer database is refused rather than damaged.</summary>
    public const int SchemaVersion = HistorySchema.Version;

    private readonly SqliteConnection _db;
    private long? _run;
    // Names the agent uses now → target rows, for this connection (a name is resolved once a run).
    private readonly Dictionary<string, long> _ids = [];

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
        if (ReachProbe.Settings.FileKinds.Of(path) == ReachProbe.Settings.FileKind.Special) throw new HistoryException($"{path}: a device, a pipe or a socket, not a ReachProbe history database");
        if (!info.Exists) throw new HistoryException($"{path}: no history database there (the agent writes one; give --db FILE)");
        if (info.Length == 0) throw new HistoryException($"{path}: empty, or not a regular file: not a ReachProbe history database");
        SqliteConnection? db = null;
        try
        {
            db = OpenReading(path);
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

    /// <summary>
    /// Records the agent's start (a new run), first closing any incident a crash left open at the last moment the agent
    /// was known alive (reason "cut_short"), and any target's watch left open with it.
    /// </summary>
    public int Start(DateTimeOffset now)
    {
        using var tx = _db.BeginTransaction();
        var lastAlive = Scalar("SELECT MAX(last_alive) FROM run", tx) is long t ? t : (long?)null;
        var cut = 0;
        if (lastAlive is { } alive)
            cut = Exec("UPDATE incident SET end = MAX(start, $alive), end_reason = $r WHERE end IS NULL AND source = 'agent'", tx, ("$alive", alive), ("$r", IncidentEnd.CutShort.Name()));
        Exec("UPDATE watch SET end = MAX(start, (SELECT COALESCE(stop, last_alive) FROM run WHERE run.id = watch.run)) WHERE end IS NULL", tx);
        _run = (long)Scalar("INSERT INTO run(start, last_alive) VALUES ($at, $at) RETURNING id", tx, ("$at", Ticks(now)))!;
        tx.Commit();
        return cut;
    }

    /// <summary>This connection's run, once <see cref="Start"/> made it.</summary>
    public long? Run => _run;

    /// <summary>Goes on writing run <paramref name="run"/> (the agent's, after the database was reopened following a failure).</summary>
    public void Resume(long run) => _run = run;

    /// <summary>Records that the agent is alive (the crash-recovery point): updates this run's row, adds none.</summary>
    public void Alive(DateTimeOffset now)
    {
        if (_run is { } run) Exec("UPDATE run SET last_alive = $at WHERE id = $id", null, ("$at", Ticks(now)), ("$id", run));
    }

    /// <summary>Records a clean stop, closing open incidents as still open at the stop (reason "agent_stopped") and the run's watches.</summary>
    public void Stop(DateTimeOffset now)
    {
        using var tx = _db.BeginTransaction();
        Exec("UPDATE incident SET end = $at, end_reason = $r WHERE end IS NULL AND source = 'agent'", tx, ("$at", Ticks(now)), ("$r", IncidentEnd.AgentStopped.Name()));
        if (_run is { } run)
        {
            Exec("UPDATE run SET last_alive = $at, stop = $at WHERE id = $id", tx, ("$at", Ticks(now)), ("$id", run));
            Exec("UPDATE watch SET end = MAX(start, $at) WHERE run = $id AND end IS NULL", tx, ("$at", Ticks(now)), ("$id", run));
        }
        tx.Commit();
        _run = null;
    }

    /// <summary>
    /// The target's identity: the row with its MAC, else with its address (and no other MAC), else with its name and
    /// no address; made when none fits. Its name, address and MAC are brought up to date: a renamed target, or one that
    /// DHCP moved, keeps its history. A MAC learned for a target that another row already has (the device seen before
    /// at another address) merges the two.
    /// </summary>
    public long Target(string name, string? ip = null, string? mac = null) => Target(name, ip, mac, null);

    private long Target(string name, string? ip, string? mac, SqliteTransaction? outer)
    {
        if (ip is null && mac is null && _ids.TryGetValue(name, out var cached)) return cached;
        mac = mac?.ToLowerInvariant();
        var tx = outer ?? _db.BeginTransaction();
        try
        {
            long? byMac = mac is null ? null : Scalar("SELECT id FROM target WHERE mac = $m ORDER BY id LIMIT 1", tx, ("$m", mac)) as long?;
            long? byIp = ip is null ? null : Scalar("SELECT id FROM target WHERE ip = $ip AND (mac IS NULL OR $m IS NULL OR mac = $m) ORDER BY id DESC LIMIT 1", tx,
                ("$ip", ip), ("$m", (object?)mac ?? DBNull.Value)) as long?;
            long? byName = ip is null && mac is null ? Scalar("SELECT id FROM target WHERE name = $n ORDER BY id DESC LIMIT 1", tx, ("$n", name)) as long? : null;
            var id = byMac ?? byIp ?? byName;
            if (id is null)
                id = (long)Scalar("INSERT INTO target(name, ip, mac) VALUES ($n, $ip, $m) RETURNING id", tx,
                    ("$n", name), ("$ip", (object?)ip ?? (System.Net.IPAddress.TryParse(name, out _) ? name : DBNull.Value)), ("$m", (object?)mac ?? DBNull.Value))!;
            else
            {
                if (byMac is { } keep && byIp is { } other && other != keep)
                {
                    // The same device, seen before under its MAC: one history.
                    foreach (var table in new[] { "incident", "firmware" }) Exec($"UPDATE {table} SET target_id = $keep WHERE target_id = $other", tx, ("$keep", keep), ("$other", other));
                    Exec("UPDATE watch SET target = $keep WHERE target = $other", tx, ("$keep", keep), ("$other", other));
                    Exec("UPDATE OR IGNORE target_label SET target = $keep WHERE target = $other", tx, ("$keep", keep), ("$other", other));
                    Exec("DELETE FROM target_label WHERE target = $other", tx, ("$other", other));
                    Exec("DELETE FROM target WHERE id = $other", tx, ("$other", other));
                    foreach (var (n, v) in _ids.Where(kv => kv.Value == other).ToList()) _ids[n] = keep;
                }
                Exec("UPDATE target SET name = $n, ip = COALESCE($ip, ip), mac = COALESCE($m, mac) WHERE id = $id", tx,
                    ("$n", name), ("$ip", (object?)ip ?? DBNull.Value), ("$m", (object?)mac ?? DBNull.Value), ("$id", id.Value));
            }
            if (outer is null) tx.Commit();
            _ids[name] = id.Value;
            return id.Value;
        }
        finally
        {
            if (outer is null) tx.Dispose();
        }
    }

    /// <summary>The target is watched from <paramref name="now"/> in this run (at start, or added by a reload).</summary>
    public long Watch(string name, string? ip, string? mac, DateTimeOffset now) => Watch([(name, ip, mac)], now)[0];

    /// <summary>
    /// The targets are watched from <paramref name="now"/> in this run, in one transaction: a thousand targets at start
    /// are one commit (one sync to the disk), not two each. Returns their identities, in order. With
    /// <paramref name="labels"/> (one set a target, in order) each target's labels become those (for <c>report --by label:NAME</c>).
    /// </summary>
    public IReadOnlyList<long> Watch(IReadOnlyList<(string Name, string? Ip, string? Mac)> targets, DateTimeOffset now, IReadOnlyList<IReadOnlyDictionary<string, string>>? labels = null)
    {
        using var tx = _db.BeginTransaction();
        var ids = new List<long>(targets.Count);
        for (var i = 0; i < targets.Count; i++)
        {
            var (name, ip, mac) = targets[i];
            var id = Target(name, ip, mac, tx);
            ids.Add(id);
            if (labels is not null && i < labels.Count)
            {
                Exec("DELETE FROM target_label WHERE target = $t", tx, ("$t", id));
                foreach (var (label, value) in labels[i])
                    Exec("INSERT INTO target_label(target, name, value) VALUES ($t, $n, $v)", tx, ("$t", id), ("$n", label), ("$v", value));
            }
            if (_run is not { } run) continue;
            if (Scalar("SELECT COUNT(*) FROM watch WHERE run = $r AND target = $t AND end IS NULL", tx, ("$r", run), ("$t", id)) is long n && n > 0) continue;
            Exec("INSERT INTO watch(target, run, start) VALUES ($t, $r, $at)", tx, ("$t", id), ("$r", run), ("$at", Ticks(now)));
        }
        tx.Commit();
        return ids;
    }

    /// <summary>The target is no longer watched from <paramref name="now"/> (removed by a reload).</summary>
    public void Unwatch(string name, DateTimeOffset now)
    {
        if (_run is not { } run) return;
        var id = Target(name);
        Exec("UPDATE watch SET end = MAX(start, $at) WHERE run = $r AND target = $t AND end IS NULL", null, ("$at", Ticks(now)), ("$r", run), ("$t", id));
    }

    /// <summary>Records a new incident; returns its id.</summary>
    public long OpenIncident(string target, TargetState state, DateTimeOffset start, string? firmware, string source = "agent") =>
        (long)Scalar("INSERT INTO incident(target, target_id, state, start, firmware, source) VALUES ($t, $id, $s, $start, $fw, $src) RETURNING id", null,
            ("$t", target), ("$id", Target(target)), ("$s", state.Name()), ("$start", Ticks(start)), ("$fw", (object?)firmware ?? DBNull.Value), ("$src", source))!;

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
        var id = Target(target);
        var last = Scalar("SELECT firmware FROM firmware WHERE target_id = $id ORDER BY since DESC, rowid DESC LIMIT 1", null, ("$id", id)) as string;
        if (last == firmware) return false;
        Exec("INSERT INTO firmware(target, target_id, firmware, since) VALUES ($t, $id, $f, $s)", null, ("$t", target), ("$id", id), ("$f", firmware), ("$s", Ticks(since)));
        return true;
    }

    /// <summary>
    /// Adds a capture's incidents (source "import"), with the firmware given, and the capture's span as an observed
    /// period so the report counts its time. Returns how many incidents were added; a capture imported twice adds none.
    /// </summary>
    public int Import(string source, IReadOnlyList<(string Target, string State, DateTimeOffset Start, DateTimeOffset? End, string Reason, EvidenceCounts Evidence)> incidents,
        string? firmware, DateTimeOffset first, DateTimeOffset last, IReadOnlyList<(string Name, string Ip, string? Mac)>? targets = null)
    {
        using var tx = _db.BeginTransaction();
        if (Scalar("SELECT COUNT(*) FROM imported WHERE source = $s", tx, ("$s", source)) is long n && n > 0) return 0;
        var ids = new Dictionary<string, long>();
        foreach (var t in targets ?? []) ids[t.Name] = Target(t.Name, t.Ip, t.Mac, tx);
        foreach (var i in incidents) if (!ids.ContainsKey(i.Target)) ids[i.Target] = Target(i.Target, null, null, tx);
        var added = 0;
        foreach (var i in incidents)
        {
            var id = (long)Scalar("INSERT INTO incident(target, target_id, state, start, firmware, source) VALUES ($t, $tid, $s, $start, $fw, 'import') RETURNING id", tx,
                ("$t", i.Target), ("$tid", ids[i.Target]), ("$s", i.State), ("$start", Ticks(i.Start)), ("$fw", (object?)firmware ?? DBNull.Value))!;
            Exec("UPDATE incident SET end = $end, end_reason = $reason WHERE id = $id",
                tx, ("$end", Ticks(i.End ?? last)), ("$reason", i.End is null ? IncidentEnd.CaptureEnded.Name() : i.Reason), ("$id", id));
            WriteEvidence(id, i.Evidence, tx);
            added++;
        }
        if (firmware is not null)
            foreach (var (t, id) in ids)
                Exec("INSERT INTO firmware(target, target_id, firmware, since) VALUES ($t, $id, $f, $s)", tx, ("$t", t), ("$id", id), ("$f", firmware), ("$s", Ticks(first)));
        Exec("INSERT INTO imported(source, at) VALUES ($s, $at)", tx, ("$s", source), ("$at", Ticks(first)));
        var run = (long)Scalar("INSERT INTO run(start, last_alive, stop) VALUES ($s, $e, $e) RETURNING id", tx, ("$s", Ticks(first)), ("$e", Ticks(last)))!;
        // The capture watched each of its targets for its whole span.
        foreach (var id in ids.Values.Distinct())
            Exec("INSERT INTO watch(target, run, start, end) VALUES ($t, $r, $s, $e)", tx, ("$t", id), ("$r", run), ("$s", Ticks(first)), ("$e", Ticks(last)));
        tx.Commit();
        return added;
    }

    /// <summary>Incidents starting at or after <paramref name="since"/>, optionally of one target (by name, address or MAC), oldest first.</summary>
    public List<IncidentRecord> Incidents(DateTimeOffset since, string? target = null)
    {
        var evidence = new Dictionary<long, Dictionary<EvidenceKind, long>>();
        var match = TargetMatch("i.target_id");
        using (var cmd = Command($"""
            SELECT e.incident, e.kind, e.count FROM incident_evidence e JOIN incident i ON i.id = e.incident
            WHERE i.start >= $since AND {match}
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
        using var q = Command($"""
            SELECT i.id, COALESCE(t.name, i.target), i.state, i.start, i.end, i.end_reason, i.firmware, i.source, COALESCE(i.target_id, 0)
            FROM incident i LEFT JOIN target t ON t.id = i.target_id WHERE i.start >= $since AND {match} ORDER BY i.start, i.id
            """, null, ("$since", Ticks(since)), ("$t", (object?)target ?? DBNull.Value));
        using var rows = q.ExecuteReader();
        var list = new List<IncidentRecord>();
        while (rows.Read())
        {
            var id = rows.GetInt64(0);
            list.Add(new IncidentRecord(id, rows.GetString(1), rows.GetString(2), Time(rows.GetInt64(3)), rows.IsDBNull(4) ? null : Time(rows.GetInt64(4)),
                rows.GetString(5), rows.IsDBNull(6) ? null : rows.GetString(6), evidence.GetValueOrDefault(id) ?? [], rows.GetString(7)) { TargetId = rows.GetInt64(8) });
        }
        return list;
    }

    /// <summary>SQL that holds when <paramref name="column"/> (a target id) is the target named by <c>$t</c> (its name, address or MAC), or <c>$t</c> is null.</summary>
    private static string TargetMatch(string column) =>
        $"($t IS NULL OR {column} IN (SELECT id FROM target WHERE name = $t OR ip = $t OR mac = lower($t)))";

    /// <summary>Every firmware change, oldest first (of one target: by name, address or MAC).</summary>
    public List<FirmwareRecord> Firmware(string? target = null)
    {
        using var cmd = Command($"""
            SELECT COALESCE(t.name, f.target), f.firmware, f.since, COALESCE(f.target_id, 0) FROM firmware f LEFT JOIN target t ON t.id = f.target_id
            WHERE {TargetMatch("f.target_id")} ORDER BY f.since, f.rowid
            """, null, ("$t", (object?)target ?? DBNull.Value));
        using var r = cmd.ExecuteReader();
        var list = new List<FirmwareRecord>();
        while (r.Read()) list.Add(new FirmwareRecord(r.GetString(0), r.GetString(1), Time(r.GetInt64(2))) { TargetId = r.GetInt64(3) });
        return list;
    }

    /// <summary>The targets the history knows (of one: by name, address or MAC).</summary>
    public List<TargetRecord> Targets(string? target = null)
    {
        using var cmd = Command($"SELECT id, name, ip, mac FROM target WHERE {TargetMatch("id")} ORDER BY id", null, ("$t", (object?)target ?? DBNull.Value));
        using var r = cmd.ExecuteReader();
        var list = new List<TargetRecord>();
        while (r.Read()) list.Add(new TargetRecord(r.GetInt64(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3)));
        return list;
    }

    /// <summary>
    /// Each target's watched periods (of one target: by name, address or MAC), oldest first; a watch still open ends at
    /// its run's stop or last sign of life.
    /// </summary>
    public List<WatchedPeriod> Watched(string? target = null)
    {
        using var cmd = Command($"""
            SELECT w.target, w.start, COALESCE(w.end, r.stop, r.last_alive) FROM watch w JOIN run r ON r.id = w.run
            WHERE {TargetMatch("w.target")} ORDER BY w.start, w.id
            """, null, ("$t", (object?)target ?? DBNull.Value));
        using var r = cmd.ExecuteReader();
        var list = new List<WatchedPeriod>();
        while (r.Read())
        {
            var start = Time(r.GetInt64(1));
            var end = Time(r.GetInt64(2));
            list.Add(new WatchedPeriod(r.GetInt64(0), start, end < start ? start : end));
        }
        return list;
    }

    /// <summary>Each target's value of label <paramref name="name"/> (as it was last watched), by the target's identity; targets without it are not listed.</summary>
    public Dictionary<long, string> LabelValues(string name)
    {
        using var cmd = Command("SELECT target, value FROM target_label WHERE name = $n", null, ("$n", name));
        using var r = cmd.ExecuteReader();
        var values = new Dictionary<long, string>();
        while (r.Read()) values[r.GetInt64(0)] = r.GetString(1);
        return values;
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
