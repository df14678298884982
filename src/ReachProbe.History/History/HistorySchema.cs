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
    public const int Version = 5;

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
        if (from < 5) MigrateFrom4(sql);
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

    /// <summary>
    /// Schema 4 → 5: who wrote each row — the agent's name and site on runs, incidents and firmware, and the agent whose
    /// targets a target row is (the same name on two agents is two devices). Rows from before are nobody's: an agent
    /// takes them as its own.
    /// </summary>
    private static void MigrateFrom4(Sql sql) => sql.Exec("""
        ALTER TABLE run ADD COLUMN agent TEXT;
        ALTER TABLE run ADD COLUMN site TEXT;
        ALTER TABLE incident ADD COLUMN agent TEXT;
        ALTER TABLE incident ADD COLUMN site TEXT;
        ALTER TABLE firmware ADD COLUMN agent TEXT;
        ALTER TABLE firmware ADD COLUMN site TEXT;
        ALTER TABLE target ADD COLUMN agent TEXT;
        CREATE INDEX run_agent ON run(agent, start);
        """);

    /// <summary>
    /// The schema in PostgreSQL, at <see cref="Version"/> from the first: the same tables and columns as SQLite's (times
    /// in .NET ticks, UTC), identity columns for SQLite's rowids, a view per table with real timestamps for Grafana.
    /// </summary>
    public const string Postgres = """
        CREATE TABLE run (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, start BIGINT NOT NULL, last_alive BIGINT NOT NULL, stop BIGINT, agent TEXT, site TEXT);
        CREATE INDEX run_start ON run(start);
        CREATE INDEX run_agent ON run(agent, start);
        CREATE TABLE target (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT NOT NULL, ip TEXT, mac TEXT, agent TEXT);
        CREATE INDEX target_name ON target(name);
        CREATE INDEX target_ip ON target(ip);
        CREATE INDEX target_mac ON target(mac);
        CREATE TABLE incident (
          id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, target TEXT NOT NULL, target_id BIGINT, state TEXT NOT NULL, start BIGINT NOT NULL,
          "end" BIGINT, end_reason TEXT NOT NULL DEFAULT 'open', firmware TEXT, source TEXT NOT NULL DEFAULT 'agent', agent TEXT, site TEXT);
        CREATE INDEX incident_since ON incident(start);
        CREATE INDEX incident_target_id ON incident(target_id, start);
        CREATE INDEX incident_open ON incident(agent) WHERE "end" IS NULL;
        CREATE TABLE incident_evidence (
          incident BIGINT NOT NULL REFERENCES incident(id) ON DELETE CASCADE, kind TEXT NOT NULL, count BIGINT NOT NULL, PRIMARY KEY (incident, kind));
        CREATE TABLE firmware (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, target TEXT NOT NULL, target_id BIGINT, firmware TEXT NOT NULL,
          since BIGINT NOT NULL, agent TEXT, site TEXT);
        CREATE INDEX firmware_target_id ON firmware(target_id, since);
        CREATE TABLE watch (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, target BIGINT NOT NULL, run BIGINT NOT NULL, start BIGINT NOT NULL, "end" BIGINT);
        CREATE INDEX watch_target ON watch(target, start);
        CREATE INDEX watch_open ON watch(run) WHERE "end" IS NULL;
        CREATE TABLE imported (source TEXT PRIMARY KEY, at BIGINT NOT NULL);
        CREATE TABLE target_label (target BIGINT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (target, name));
        CREATE INDEX target_label_name ON target_label(name);
        CREATE FUNCTION reachprobe_time(ticks BIGINT) RETURNS TIMESTAMPTZ LANGUAGE SQL IMMUTABLE
          RETURN to_timestamp((ticks - 621355968000000000) / 10000000.0);
        CREATE VIEW incidents AS
          SELECT i.id, COALESCE(t.name, i.target) AS target, t.mac, i.state, reachprobe_time(i.start) AS start_time, reachprobe_time(i."end") AS end_time,
                 (i."end" - i.start) / 10000000.0 AS seconds, i.end_reason, COALESCE(i.firmware, 'unknown') AS firmware, i.source, i.agent, i.site,
                 l.value AS model
          FROM incident i LEFT JOIN target t ON t.id = i.target_id LEFT JOIN target_label l ON l.target = i.target_id AND l.name = 'model';
        """;

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
