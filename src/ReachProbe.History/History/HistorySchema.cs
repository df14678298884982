using Microsoft.Data.Sqlite;
using ReachProbe.Verdict;

namespace ReachProbe.History;

/// <summary>
/// The history's schema and its migrations, apart from the store that uses it: a database is at version
/// <c>PRAGMA user_version</c> (0: new) and <see cref="Upgrade"/> brings it to <see cref="Version"/> in the caller's
/// transaction, one step per version. A newer database than <see cref="Version"/> is refused by the store.
/// </summary>
internal static class HistorySchema
{
    /// <summary>The version this build writes.</summary>
    public const int Version = 4;

    /// <summary>A connection inside a transaction, with the few calls a migration needs.</summary>
    internal readonly record struct Sql(SqliteConnection Db, SqliteTransaction Tx)
    {
        public SqliteCommand Command(string text, params (string, object)[] args)
        {
            var cmd = Db.CreateCommand();
            cmd.CommandText = text;
            cmd.Transaction = Tx;
            foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
            return cmd;
        }

        public int Exec(string text, params (string, object)[] args)
        {
            using var cmd = Command(text, args);
            return cmd.ExecuteNonQuery();
        }

        public object? Scalar(string text)
        {
            using var cmd = Command(text);
            return cmd.ExecuteScalar();
        }
    }

    /// <summary>Brings a database at version <paramref name="from"/> (0: empty) to <see cref="Version"/>.</summary>
    public static void Upgrade(Sql sql, int from)
    {
        if (from == 1) MigrateFrom1(sql);
        else if (from == 0) Create(sql);
        if (from < 3) MigrateFrom2(sql);
        if (from < 4) MigrateFrom3(sql);
        sql.Exec($"PRAGMA user_version = {Version}");
    }

    /// <summary>
    /// Schema 2 → 3: targets get an identity of their own (a row with their name, address and MAC), so a rename or a new
    /// address keeps one history; and each target's watched time is its own (<c>watch</c>: a row per target per run),
    /// so no share is of time the target was not watched. Schema 2 did not say which targets a run watched: each run is
    /// taken as watching every target the database names (the old reading, now per target and bounded by it).
    /// </summary>
    private static void MigrateFrom2(Sql sql)
    {
        sql.Exec("""
            CREATE TABLE target (id INTEGER PRIMARY KEY, name TEXT NOT NULL, ip TEXT, mac TEXT);
            CREATE INDEX target_name ON target(name);
            CREATE INDEX target_ip ON target(ip);
            CREATE INDEX target_mac ON target(mac);
            CREATE TABLE watch (id INTEGER PRIMARY KEY, target INTEGER NOT NULL, run INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER);
            CREATE INDEX watch_target ON watch(target, start);
            CREATE INDEX watch_open ON watch(run) WHERE end IS NULL;
            ALTER TABLE incident ADD COLUMN target_id INTEGER;
            ALTER TABLE firmware ADD COLUMN target_id INTEGER;
            CREATE INDEX incident_target_id ON incident(target_id, start);
            CREATE INDEX firmware_target_id ON firmware(target_id, since);
            INSERT INTO target(name) SELECT target FROM incident UNION SELECT target FROM firmware;
            UPDATE target SET ip = name WHERE name GLOB '[0-9]*.[0-9]*.[0-9]*.[0-9]*';
            UPDATE incident SET target_id = (SELECT id FROM target WHERE target.name = incident.target);
            UPDATE firmware SET target_id = (SELECT id FROM target WHERE target.name = firmware.target);
            INSERT INTO watch(target, run, start, end) SELECT t.id, r.id, r.start, COALESCE(r.stop, r.last_alive) FROM target t CROSS JOIN run r;
            """);
    }

    /// <summary>Schema 3 → 4: the person's own labels of each target ("room": "living"), as it was last watched with them.</summary>
    private static void MigrateFrom3(Sql sql) => sql.Exec("""
        CREATE TABLE target_label (target INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (target, name)) WITHOUT ROWID;
        CREATE INDEX target_label_name ON target_label(name);
        """);

    private static void Create(Sql sql) => sql.Exec("""
        CREATE TABLE IF NOT EXISTS incident (
          id INTEGER PRIMARY KEY, target TEXT NOT NULL, state TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER,
          end_reason TEXT NOT NULL DEFAULT 'open', firmware TEXT, source TEXT NOT NULL DEFAULT 'agent');
        CREATE INDEX IF NOT EXISTS incident_start ON incident(target, start);
        CREATE INDEX IF NOT EXISTS incident_since ON incident(start);
        CREATE INDEX IF NOT EXISTS incident_open ON incident(end) WHERE end IS NULL;
        CREATE TABLE IF NOT EXISTS incident_evidence (
          incident INTEGER NOT NULL REFERENCES incident(id) ON DELETE CASCADE, kind TEXT NOT NULL, count INTEGER NOT NULL,
          PRIMARY KEY (incident, kind)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS firmware (target TEXT NOT NULL, firmware TEXT NOT NULL, since INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS firmware_target ON firmware(target, since);
        CREATE TABLE IF NOT EXISTS run (id INTEGER PRIMARY KEY, start INTEGER NOT NULL, last_alive INTEGER NOT NULL, stop INTEGER);
        CREATE INDEX IF NOT EXISTS run_start ON run(start);
        CREATE TABLE IF NOT EXISTS imported (source TEXT PRIMARY KEY, at INTEGER NOT NULL);
        """);

    /// <summary>Schema 1 → 2: evidence columns become rows; start/alive/stop marks become one row per run.</summary>
    private static void MigrateFrom1(Sql sql)
    {
        if (sql.Scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'incident'") is not long n || n == 0)
        {
            Create(sql);
            return;
        }
        sql.Exec("ALTER TABLE incident RENAME TO incident_v1");
        sql.Exec("DROP INDEX IF EXISTS incident_start");
        Create(sql);
        sql.Exec("INSERT INTO incident(id, target, state, start, end, end_reason, firmware, source) SELECT id, target, state, start, end, end_reason, firmware, source FROM incident_v1");
        foreach (var (column, kind) in V1Columns)
            sql.Exec($"INSERT INTO incident_evidence(incident, kind, count) SELECT id, $k, {column} FROM incident_v1 WHERE {column} > 0", ("$k", kind.Info().Name));
        sql.Exec("DROP TABLE incident_v1");
        var runs = new List<(long Start, long Last, long? Stop)>();
        var imports = new List<(string, long)>();
        using (var cmd = sql.Command("SELECT kind, at FROM mark ORDER BY at, rowid"))
        using (var r = cmd.ExecuteReader())
        {
            (long Start, long Last, long? Stop)? open = null;
            while (r.Read())
            {
                var kind = r.GetString(0);
                var at = r.GetInt64(1);
                if (kind.StartsWith("import:", StringComparison.Ordinal)) { imports.Add((kind["import:".Length..], at)); continue; }
                if (kind == "start")
                {
                    if (open is { } o) runs.Add(o);
                    open = (at, at, null);
                }
                else if (open is { } o)
                {
                    open = null;
                    if (kind == "stop") runs.Add((o.Start, at, at));
                    else open = (o.Start, at, null);
                }
            }
            if (open is { } last) runs.Add(last);
        }
        foreach (var (start, lastAlive, stop) in runs)
            sql.Exec("INSERT INTO run(start, last_alive, stop) VALUES ($s, $a, $e)", ("$s", start), ("$a", lastAlive), ("$e", (object?)stop ?? DBNull.Value));
        foreach (var (source, at) in imports)
            sql.Exec("INSERT OR IGNORE INTO imported(source, at) VALUES ($s, $a)", ("$s", source), ("$a", at));
        sql.Exec("DROP TABLE mark");
    }

    private static readonly (string Column, EvidenceKind Kind)[] V1Columns =
    [
        ("icmp_unanswered", EvidenceKind.EchoUnanswered), ("arp_unanswered", EvidenceKind.ArpForTargetUnanswered),
        ("dns_repeated_after_answer", EvidenceKind.DnsRepeatedAfterAnswer), ("syn_retransmitted_after_synack", EvidenceKind.SynRetransmittedAfterSynAck),
        ("arp_repeated_after_reply", EvidenceKind.ArpRepeatedAfterReply), ("gratuitous_arp", EvidenceKind.GratuitousArp),
        ("frames_from_target", EvidenceKind.FrameFromTarget),
    ];
}
