using System.Data;
using System.Data.Common;
using ReachProbe.Verdict;

namespace ReachProbe.History;

/// <summary>
/// The incident history: incidents with their evidence (one row per kind, keyed by <see cref="EvidenceInfo.Name"/>) and
/// the firmware at the time, firmware changes, each target's identity and watched time, and one row per agent run
/// (start, last sign of life, stop), so that an incident left open by a crash is closed at the last moment the agent
/// was known alive, marked cut short. Every run, incident and firmware row carries the agent (and its site) that wrote
/// it, so many agents may write one database.
/// </summary>
/// <remarks>
/// One store, two engines: <see cref="SqliteHistoryStore"/> (a file, the embedded default) and
/// <see cref="PostgresHistoryStore"/> (a <c>postgresql://</c> URI, for a fleet). The SQL here is what both speak; an
/// engine gives its few differences (<see cref="Greatest"/>, <see cref="FirmwareOrder"/>, how errors read). Writes are
/// idempotent where a retry may repeat them (a commit whose answer was lost): a run, an incident or a watch already
/// written is found, not written twice.
/// </remarks>
public abstract class HistoryStore : IDisposable
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

    /// <summary>
    /// Opens (creating on first use) a history database: a <c>postgresql://</c> URI, else an SQLite file. Throws
    /// <see cref="HistoryException"/> naming the problem.
    /// </summary>
    public static HistoryStore Open(string location, HistoryAgent? agent = null) =>
        PostgresLocation.IsUri(location) ? PostgresHistoryStore.Open(location, agent ?? HistoryAgent.Default) : SqliteHistoryStore.Open(location, agent ?? HistoryAgent.Default);

    /// <summary>Opens a history database to read it, never writing to it (<c>report</c>).</summary>
    public static HistoryStore OpenReadOnly(string location) =>
        PostgresLocation.IsUri(location) ? PostgresHistoryStore.OpenReadOnly(location) : SqliteHistoryStore.OpenReadOnly(location);

    private long? _run;
    // Names the agent uses now → target rows, for this connection (a name is resolved once a run).
    private readonly Dictionary<string, long> _ids = [];

    /// <summary>A store on an open connection.</summary>
    private protected HistoryStore(DbConnection db, string path, HistoryAgent agent)
    {
        Db = db;
        Path = path;
        Agent = agent;
    }

    /// <summary>The connection.</summary>
    private protected DbConnection Db { get; set; }

    /// <summary>The database: a file, or a URI without its password (fit for logs).</summary>
    public string Path { get; }

    /// <summary>The agent this store writes as.</summary>
    public HistoryAgent Agent { get; }

    /// <summary>The engine's name of the larger of two values (SQLite's two-argument MAX, PostgreSQL's GREATEST).</summary>
    private protected abstract string Greatest { get; }

    /// <summary>The column that orders firmware rows written at the same time (SQLite's rowid, PostgreSQL's id).</summary>
    private protected abstract string FirmwareOrder { get; }

    /// <summary>A driver's failure as a person reads it, naming the database.</summary>
    private protected abstract HistoryException Describe(DbException e);

    /// <summary>Serialises identity look-ups between agents writing one database at once (in <paramref name="tx"/>).</summary>
    private protected virtual void LockIdentities(DbTransaction tx)
    {
    }

    // The agent's rows, and the rows written before agents had names (an upgraded database is its own agent's).
    private const string Mine = "(agent = @agent OR agent IS NULL)";

    /// <summary>
    /// Records the agent's start (a new run), first closing any incident a crash left open at the last moment the agent
    /// was known alive (reason "cut_short"), and any target's watch left open with it. Only this agent's: another agent
    /// writing the same database keeps its open incidents.
    /// </summary>
    public int Start(DateTimeOffset now)
    {
        using var tx = Db.BeginTransaction();
        // A start written before (its answer lost to a failure) is this run: found, not made twice.
        if (Scalar($"SELECT id FROM run WHERE agent = @agent AND start = @at AND stop IS NULL", tx, Me(("@at", Ticks(now)))) is long again)
        {
            tx.Commit();
            _run = again;
            return 0;
        }
        var lastAlive = Scalar($"SELECT MAX(last_alive) FROM run WHERE {Mine}", tx, Me()) is long t ? t : (long?)null;
        var cut = 0;
        if (lastAlive is { } alive)
            cut = Exec($"UPDATE incident SET \"end\" = {Greatest}(start, @alive), end_reason = @r WHERE \"end\" IS NULL AND source = 'agent' AND {Mine}", tx,
                Me(("@alive", alive), ("@r", IncidentEnd.CutShort.Name())));
        Exec($"""
            UPDATE watch SET "end" = {Greatest}(start, (SELECT COALESCE(stop, last_alive) FROM run WHERE run.id = watch.run))
            WHERE "end" IS NULL AND run IN (SELECT id FROM run WHERE {Mine})
            """, tx, Me());
        _run = (long)Scalar("INSERT INTO run(start, last_alive, agent, site) VALUES (@at, @at, @agent, @site) RETURNING id", tx, Me(("@at", Ticks(now))))!;
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
        if (_run is { } run) Exec("UPDATE run SET last_alive = @at WHERE id = @id", null, ("@at", Ticks(now)), ("@id", run));
    }

    /// <summary>Records a clean stop, closing this agent's open incidents as still open at the stop (reason "agent_stopped") and the run's watches.</summary>
    public void Stop(DateTimeOffset now)
    {
        using var tx = Db.BeginTransaction();
        Exec($"UPDATE incident SET \"end\" = @at, end_reason = @r WHERE \"end\" IS NULL AND source = 'agent' AND {Mine}", tx,
            Me(("@at", Ticks(now)), ("@r", IncidentEnd.AgentStopped.Name())));
        if (_run is { } run)
        {
            Exec("UPDATE run SET last_alive = @at, stop = @at WHERE id = @id", tx, ("@at", Ticks(now)), ("@id", run));
            Exec($"UPDATE watch SET \"end\" = {Greatest}(start, @at) WHERE run = @id AND \"end\" IS NULL", tx, ("@at", Ticks(now)), ("@id", run));
        }
        tx.Commit();
        _run = null;
    }

    /// <summary>
    /// The target's identity: the row with its MAC (whichever agent saw it: one device seen from two places), else this
    /// agent's row with its address (and no other MAC), else this agent's row with its name and no address; made when
    /// none fits. Its name, address and MAC are brought up to date: a renamed target, or one that DHCP moved, keeps its
    /// history. A MAC learned for a target that another row already has (the device seen before at another address)
    /// merges the two. The same name on two agents is two devices unless they share a MAC.
    /// </summary>
    public long Target(string name, string? ip = null, string? mac = null) => Target(name, ip, mac, null);

    private long Target(string name, string? ip, string? mac, DbTransaction? outer)
    {
        if (ip is null && mac is null && _ids.TryGetValue(name, out var cached)) return cached;
        mac = mac?.ToLowerInvariant();
        var tx = outer ?? Db.BeginTransaction();
        try
        {
            LockIdentities(tx);
            long? byMac = mac is null ? null : Scalar("SELECT id FROM target WHERE mac = @m ORDER BY id LIMIT 1", tx, ("@m", mac)) as long?;
            long? byIp = ip is null ? null : Scalar($"SELECT id FROM target WHERE ip = @ip AND (mac IS NULL OR @m IS NULL OR mac = @m) AND {Mine} ORDER BY id DESC LIMIT 1", tx,
                Me(("@ip", ip), ("@m", Text(mac)))) as long?;
            long? byName = ip is null && mac is null ? Scalar($"SELECT id FROM target WHERE name = @n AND {Mine} ORDER BY id DESC LIMIT 1", tx, Me(("@n", name))) as long? : null;
            var id = byMac ?? byIp ?? byName;
            if (id is null)
                id = (long)Scalar("INSERT INTO target(name, ip, mac, agent) VALUES (@n, @ip, @m, @agent) RETURNING id", tx,
                    Me(("@n", name), ("@ip", Text(ip ?? (System.Net.IPAddress.TryParse(name, out _) ? name : null))), ("@m", Text(mac))))!;
            else
            {
                if (byMac is { } keep && byIp is { } other && other != keep)
                {
                    // The same device, seen before under its MAC: one history.
                    foreach (var table in new[] { "incident", "firmware" }) Exec($"UPDATE {table} SET target_id = @keep WHERE target_id = @other", tx, ("@keep", keep), ("@other", other));
                    Exec("UPDATE watch SET target = @keep WHERE target = @other", tx, ("@keep", keep), ("@other", other));
                    Exec("INSERT INTO target_label(target, name, value) SELECT @keep, name, value FROM target_label WHERE target = @other ON CONFLICT DO NOTHING", tx,
                        ("@keep", keep), ("@other", other));
                    Exec("DELETE FROM target_label WHERE target = @other", tx, ("@other", other));
                    Exec("DELETE FROM target WHERE id = @other", tx, ("@other", other));
                    foreach (var (n, v) in _ids.Where(kv => kv.Value == other).ToList()) _ids[n] = keep;
                }
                Exec("UPDATE target SET name = @n, ip = COALESCE(@ip, ip), mac = COALESCE(@m, mac), agent = COALESCE(agent, @agent) WHERE id = @id", tx,
                    Me(("@n", name), ("@ip", Text(ip)), ("@m", Text(mac)), ("@id", id.Value)));
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
        using var tx = Db.BeginTransaction();
        var ids = new List<long>(targets.Count);
        for (var i = 0; i < targets.Count; i++)
        {
            var (name, ip, mac) = targets[i];
            var id = Target(name, ip, mac, tx);
            ids.Add(id);
            if (labels is not null && i < labels.Count)
            {
                Exec("DELETE FROM target_label WHERE target = @t", tx, ("@t", id));
                foreach (var (label, value) in labels[i])
                    Exec("INSERT INTO target_label(target, name, value) VALUES (@t, @n, @v)", tx, ("@t", id), ("@n", label), ("@v", value));
            }
            if (_run is not { } run) continue;
            if (Scalar("SELECT COUNT(*) FROM watch WHERE run = @r AND target = @t AND \"end\" IS NULL", tx, ("@r", run), ("@t", id)) is long n && n > 0) continue;
            Exec("INSERT INTO watch(target, run, start) VALUES (@t, @r, @at)", tx, ("@t", id), ("@r", run), ("@at", Ticks(now)));
        }
        tx.Commit();
        return ids;
    }

    /// <summary>The target is no longer watched from <paramref name="now"/> (removed by a reload).</summary>
    public void Unwatch(string name, DateTimeOffset now)
    {
        if (_run is not { } run) return;
        var id = Target(name);
        Exec($"UPDATE watch SET \"end\" = {Greatest}(start, @at) WHERE run = @r AND target = @t AND \"end\" IS NULL", null, ("@at", Ticks(now)), ("@r", run), ("@t", id));
    }

    /// <summary>
    /// Records a new incident; returns its id. The same incident again (this agent, this target, this start: a retry of
    /// a write whose answer was lost) is the row already written.
    /// </summary>
    public long OpenIncident(string target, TargetState state, DateTimeOffset start, string? firmware, string source = "agent")
    {
        var id = Target(target);
        using var tx = Db.BeginTransaction();
        if (Scalar("SELECT id FROM incident WHERE target_id = @id AND start = @start AND source = @src AND agent = @agent", tx,
                Me(("@id", id), ("@start", Ticks(start)), ("@src", source))) is long again)
        {
            Exec("UPDATE incident SET state = @s WHERE id = @i", tx, ("@s", state.Name()), ("@i", again));
            tx.Commit();
            return again;
        }
        var made = (long)Scalar("INSERT INTO incident(target, target_id, state, start, firmware, source, agent, site) VALUES (@t, @id, @s, @start, @fw, @src, @agent, @site) RETURNING id", tx,
            Me(("@t", target), ("@id", id), ("@s", state.Name()), ("@start", Ticks(start)), ("@fw", Text(firmware)), ("@src", source)))!;
        tx.Commit();
        return made;
    }

    /// <summary>Relabels an incident (a down host that started transmitting soon after was deaf all along).</summary>
    public void UpdateState(long id, TargetState state) => Exec("UPDATE incident SET state = @s WHERE id = @id", null, ("@s", state.Name()), ("@id", id));

    /// <summary>Closes an incident with its evidence.</summary>
    public void CloseIncident(long id, DateTimeOffset? end, string reason, EvidenceCounts evidence)
    {
        using var tx = Db.BeginTransaction();
        Exec("UPDATE incident SET \"end\" = @end, end_reason = @reason WHERE id = @id", tx, ("@end", Num(end is { } e ? Ticks(e) : null)), ("@reason", reason), ("@id", id));
        WriteEvidence(id, evidence, tx);
        tx.Commit();
    }

    /// <summary>Saves an open incident's evidence counts so far (they survive a crash).</summary>
    public void UpdateEvidence(long id, EvidenceCounts evidence)
    {
        using var tx = Db.BeginTransaction();
        WriteEvidence(id, evidence, tx);
        tx.Commit();
    }

    private void WriteEvidence(long id, EvidenceCounts evidence, DbTransaction tx)
    {
        foreach (var info in EvidenceCatalog.All)
            if (evidence[info.Kind] > 0)
                Exec("INSERT INTO incident_evidence(incident, kind, count) VALUES (@id, @k, @n) ON CONFLICT(incident, kind) DO UPDATE SET count = excluded.count",
                    tx, ("@id", id), ("@k", info.Name), ("@n", evidence[info.Kind]));
    }

    /// <summary>Records the target's firmware from a time on, unless it is the one already recorded last. True when it changed.</summary>
    public bool RecordFirmware(string target, string firmware, DateTimeOffset since)
    {
        var id = Target(target);
        var last = Scalar($"SELECT firmware FROM firmware WHERE target_id = @id ORDER BY since DESC, {FirmwareOrder} DESC LIMIT 1", null, ("@id", id)) as string;
        if (last == firmware) return false;
        Exec("INSERT INTO firmware(target, target_id, firmware, since, agent, site) VALUES (@t, @id, @f, @s, @agent, @site)", null,
            Me(("@t", target), ("@id", id), ("@f", firmware), ("@s", Ticks(since))));
        return true;
    }

    /// <summary>
    /// Adds a capture's incidents (source "import"), with the firmware given, and the capture's span as an observed
    /// period so the report counts its time. Returns how many incidents were added; a capture imported twice adds none.
    /// </summary>
    public int Import(string source, IReadOnlyList<(string Target, string State, DateTimeOffset Start, DateTimeOffset? End, string Reason, EvidenceCounts Evidence)> incidents,
        string? firmware, DateTimeOffset first, DateTimeOffset last, IReadOnlyList<(string Name, string Ip, string? Mac)>? targets = null,
        IReadOnlyDictionary<string, string>? labels = null)
    {
        using var tx = Db.BeginTransaction();
        if (Scalar("SELECT COUNT(*) FROM imported WHERE source = @s", tx, ("@s", source)) is long n && n > 0) return 0;
        var ids = new Dictionary<string, long>();
        foreach (var t in targets ?? []) ids[t.Name] = Target(t.Name, t.Ip, t.Mac, tx);
        foreach (var i in incidents) if (!ids.ContainsKey(i.Target)) ids[i.Target] = Target(i.Target, null, null, tx);
        // The person's labels (analyze --label) become each target's, as a configuration's do (report --by label:NAME).
        if (labels is { Count: > 0 })
            foreach (var id in ids.Values.Distinct())
            {
                Exec("DELETE FROM target_label WHERE target = @t", tx, ("@t", id));
                foreach (var (label, value) in labels)
                    Exec("INSERT INTO target_label(target, name, value) VALUES (@t, @n, @v)", tx, ("@t", id), ("@n", label), ("@v", value));
            }
        var added = 0;
        foreach (var i in incidents)
        {
            var id = (long)Scalar("""
                INSERT INTO incident(target, target_id, state, start, "end", end_reason, firmware, source, agent, site)
                VALUES (@t, @tid, @s, @start, @end, @reason, @fw, 'import', @agent, @site) RETURNING id
                """, tx, Me(("@t", i.Target), ("@tid", ids[i.Target]), ("@s", i.State), ("@start", Ticks(i.Start)), ("@end", Ticks(i.End ?? last)),
                ("@reason", i.End is null ? IncidentEnd.CaptureEnded.Name() : i.Reason), ("@fw", Text(firmware))))!;
            WriteEvidence(id, i.Evidence, tx);
            added++;
        }
        if (firmware is not null)
            foreach (var (t, id) in ids)
                Exec("INSERT INTO firmware(target, target_id, firmware, since, agent, site) VALUES (@t, @id, @f, @s, @agent, @site)", tx,
                    Me(("@t", t), ("@id", id), ("@f", firmware), ("@s", Ticks(first))));
        Exec("INSERT INTO imported(source, at) VALUES (@s, @at)", tx, ("@s", source), ("@at", Ticks(first)));
        var run = (long)Scalar("INSERT INTO run(start, last_alive, stop, agent, site) VALUES (@s, @e, @e, @agent, @site) RETURNING id", tx,
            Me(("@s", Ticks(first)), ("@e", Ticks(last))))!;
        // The capture watched each of its targets for its whole span.
        foreach (var id in ids.Values.Distinct())
            Exec("INSERT INTO watch(target, run, start, \"end\") VALUES (@t, @r, @s, @e)", tx, ("@t", id), ("@r", run), ("@s", Ticks(first)), ("@e", Ticks(last)));
        tx.Commit();
        return added;
    }

    /// <summary>
    /// Incidents starting at or after <paramref name="since"/>, optionally of one target (by name, address or MAC), oldest
    /// first; with their evidence unless <paramref name="withEvidence"/> is false (figures need none of it).
    /// </summary>
    public List<IncidentRecord> Incidents(DateTimeOffset since, string? target = null, bool withEvidence = true)
    {
        var evidence = new Dictionary<long, Dictionary<EvidenceKind, long>>();
        var match = TargetMatch("i.target_id");
        if (withEvidence) ReadEvidence(since, target, evidence);
        // Each target's name as it is now (a renamed target's incidents go by its new name); joined and sorted here, not
        // by the server: over a fleet's year (100,000 incidents) that halves the time the rows take to arrive.
        var names = new Dictionary<long, string>();
        using (var cmd = Command("SELECT id, name FROM target", null))
        using (var r = Read(cmd))
            while (r.Read()) names[r.GetInt64(0)] = r.GetString(1);
        using var q = Command($"""
            SELECT i.id, i.target, i.state, i.start, i."end", i.end_reason, i.firmware, i.source, COALESCE(i.target_id, 0), i.agent, i.site
            FROM incident i WHERE i.start >= @since AND {match}
            """, null, ("@since", Ticks(since)), ("@t", Text(target)));
        using var rows = Read(q);
        var list = new List<IncidentRecord>();
        while (rows.Read())
        {
            var id = rows.GetInt64(0);
            list.Add(new IncidentRecord(id, names.GetValueOrDefault(rows.GetInt64(8)) ?? rows.GetString(1), rows.GetString(2), Time(rows.GetInt64(3)), rows.IsDBNull(4) ? null : Time(rows.GetInt64(4)),
                rows.GetString(5), rows.IsDBNull(6) ? null : rows.GetString(6), evidence.GetValueOrDefault(id) ?? [], rows.GetString(7))
            {
                TargetId = rows.GetInt64(8),
                Agent = rows.IsDBNull(9) ? null : rows.GetString(9),
                Site = rows.IsDBNull(10) ? null : rows.GetString(10),
            });
        }
        list.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.Id.CompareTo(b.Id));
        return list;
    }

    /// <summary>The evidence of the incidents <see cref="Incidents"/> reads, by incident.</summary>
    private void ReadEvidence(DateTimeOffset since, string? target, Dictionary<long, Dictionary<EvidenceKind, long>> evidence)
    {
        using var cmd = Command($"""
            SELECT e.incident, e.kind, e.count FROM incident_evidence e JOIN incident i ON i.id = e.incident
            WHERE i.start >= @since AND {TargetMatch("i.target_id")}
            """, null, ("@since", Ticks(since)), ("@t", Text(target)));
        using var r = Read(cmd);
        while (r.Read())
        {
            // A kind this build does not know (written by a newer one) is left out rather than misread.
            if (!EvidenceCatalog.TryParse(r.GetString(1), out var kind)) continue;
            var id = r.GetInt64(0);
            if (!evidence.TryGetValue(id, out var counts)) evidence[id] = counts = [];
            counts[kind] = r.GetInt64(2);
        }
    }

    /// <summary>SQL that holds when <paramref name="column"/> (a target id) is the target named by <c>@t</c> (its name, address or MAC), or <c>@t</c> is null.</summary>
    private static string TargetMatch(string column) =>
        $"(@t IS NULL OR {column} IN (SELECT id FROM target WHERE name = @t OR ip = @t OR mac = lower(@t)))";

    /// <summary>Every firmware change, oldest first (of one target: by name, address or MAC).</summary>
    public List<FirmwareRecord> Firmware(string? target = null)
    {
        using var cmd = Command($"""
            SELECT COALESCE(t.name, f.target), f.firmware, f.since, COALESCE(f.target_id, 0) FROM firmware f LEFT JOIN target t ON t.id = f.target_id
            WHERE {TargetMatch("f.target_id")} ORDER BY f.since, f.{FirmwareOrder}
            """, null, ("@t", Text(target)));
        using var r = Read(cmd);
        var list = new List<FirmwareRecord>();
        while (r.Read()) list.Add(new FirmwareRecord(r.GetString(0), r.GetString(1), Time(r.GetInt64(2))) { TargetId = r.GetInt64(3) });
        return list;
    }

    /// <summary>The targets the history knows (of one: by name, address or MAC).</summary>
    public List<TargetRecord> Targets(string? target = null)
    {
        using var cmd = Command($"SELECT id, name, ip, mac FROM target WHERE {TargetMatch("id")} ORDER BY id", null, ("@t", Text(target)));
        using var r = Read(cmd);
        var list = new List<TargetRecord>();
        while (r.Read()) list.Add(new TargetRecord(r.GetInt64(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3)));
        return list;
    }

    /// <summary>
    /// Each target's watched periods (of one target: by name, address or MAC), oldest first; a watch still open ends at
    /// its run's stop or last sign of life.
    /// </summary>
    public List<WatchedPeriod> Watched(string? target = null, DateTimeOffset? since = null)
    {
        using var cmd = Command($"""
            SELECT w.target, w.start, COALESCE(w."end", r.stop, r.last_alive), r.agent, r.site, w.id FROM watch w JOIN run r ON r.id = w.run
            WHERE {TargetMatch("w.target")} AND (@since IS NULL OR COALESCE(w."end", r.stop, r.last_alive) >= @since)
            """, null, ("@t", Text(target)), ("@since", Num(since is { } from ? Ticks(from) : null)));
        using var r = Read(cmd);
        var rows = new List<(long Id, WatchedPeriod Period)>();
        while (r.Read())
        {
            var start = Time(r.GetInt64(1));
            var end = Time(r.GetInt64(2));
            rows.Add((r.GetInt64(5), new WatchedPeriod(r.GetInt64(0), start, end < start ? start : end)
            {
                Agent = r.IsDBNull(3) ? null : r.GetString(3),
                Site = r.IsDBNull(4) ? null : r.GetString(4),
            }));
        }
        // Sorted here rather than by the server (as the incidents are).
        rows.Sort((a, b) => a.Period.Start != b.Period.Start ? a.Period.Start.CompareTo(b.Period.Start) : a.Id.CompareTo(b.Id));
        return rows.ConvertAll(x => x.Period);
    }

    /// <summary>Each target's value of label <paramref name="name"/> (as it was last watched), by the target's identity; targets without it are not listed.</summary>
    public Dictionary<long, string> LabelValues(string name)
    {
        using var cmd = Command("SELECT target, value FROM target_label WHERE name = @n", null, ("@n", name));
        using var r = Read(cmd);
        var values = new Dictionary<long, string>();
        while (r.Read()) values[r.GetInt64(0)] = r.GetString(1);
        return values;
    }

    /// <summary>The periods the agent was watching (or a capture covered): each run from its start to its stop or last sign of life.</summary>
    public List<ObservedPeriod> Observed()
    {
        using var cmd = Command("SELECT start, COALESCE(stop, last_alive) FROM run ORDER BY start, id", null);
        using var r = Read(cmd);
        var periods = new List<ObservedPeriod>();
        while (r.Read()) periods.Add(new ObservedPeriod(Time(r.GetInt64(0)), Time(r.GetInt64(1))));
        return periods;
    }

    /// <summary>
    /// Copies another history (an agent's SQLite file) into this one, in one transaction, as this store's agent: its
    /// targets (by MAC, else address, else name, as the agent would), their labels, its runs with what each watched,
    /// its incidents with their evidence, its firmware changes and imported captures. Idempotent: a row already here
    /// (a run of this agent at the same start, an incident of the same target at the same start, the same firmware
    /// change, watch or import) is not copied again, so a second copy copies nothing.
    /// </summary>
    public CopyCounts CopyFrom(HistoryStore source)
    {
        var targets = source.Targets();
        var labels = source.AllLabels();
        var runs = source.Runs();
        var watches = source.WatchRows();
        var incidents = source.Incidents(DateTimeOffset.MinValue);
        var firmware = source.Firmware();
        var imports = source.Imports();
        using var tx = Db.BeginTransaction();
        var targetIds = new Dictionary<long, long>();
        foreach (var t in targets)
        {
            var id = Target(t.Name, t.Ip, t.Mac, tx);
            targetIds[t.Id] = id;
            foreach (var (name, value) in labels.GetValueOrDefault(t.Id) ?? [])
                Exec("INSERT INTO target_label(target, name, value) VALUES (@t, @n, @v) ON CONFLICT DO NOTHING", tx, ("@t", id), ("@n", name), ("@v", value));
        }
        long TargetOf(long sourceId, string name) => targetIds.TryGetValue(sourceId, out var id) ? id : targetIds[sourceId] = Target(name, null, null, tx);
        var runIds = new Dictionary<long, long>();
        var newRuns = 0;
        foreach (var (id, start, last, stop) in runs)
        {
            if (Scalar("SELECT id FROM run WHERE agent = @agent AND start = @s", tx, Me(("@s", start))) is long known)
            {
                runIds[id] = known;
                continue;
            }
            runIds[id] = (long)Scalar("INSERT INTO run(start, last_alive, stop, agent, site) VALUES (@s, @a, @e, @agent, @site) RETURNING id", tx,
                Me(("@s", start), ("@a", last), ("@e", Num(stop))))!;
            newRuns++;
        }
        foreach (var (target, run, start, end) in watches)
        {
            if (!runIds.TryGetValue(run, out var r) || !targetIds.TryGetValue(target, out var t)) continue;
            if (Scalar("SELECT COUNT(*) FROM watch WHERE run = @r AND target = @t AND start = @s", tx, ("@r", r), ("@t", t), ("@s", start)) is long n && n > 0) continue;
            Exec("INSERT INTO watch(target, run, start, \"end\") VALUES (@t, @r, @s, @e)", tx, ("@t", t), ("@r", r), ("@s", start), ("@e", Num(end)));
        }
        var newIncidents = 0;
        foreach (var i in incidents)
        {
            var t = TargetOf(i.TargetId, i.Target);
            if (Scalar("SELECT id FROM incident WHERE target_id = @id AND start = @start AND source = @src AND agent = @agent", tx,
                    Me(("@id", t), ("@start", Ticks(i.Start)), ("@src", i.Source))) is long) continue;
            var id = (long)Scalar("""
                INSERT INTO incident(target, target_id, state, start, "end", end_reason, firmware, source, agent, site)
                VALUES (@n, @t, @s, @start, @end, @reason, @fw, @src, @agent, @site) RETURNING id
                """, tx, Me(("@n", i.Target), ("@t", t), ("@s", i.State), ("@start", Ticks(i.Start)), ("@end", Num(i.End is { } e ? Ticks(e) : null)),
                ("@reason", i.EndReason), ("@fw", Text(i.Firmware)), ("@src", i.Source)))!;
            foreach (var (kind, count) in i.Evidence)
                Exec("INSERT INTO incident_evidence(incident, kind, count) VALUES (@i, @k, @n)", tx, ("@i", id), ("@k", kind.Info().Name), ("@n", count));
            newIncidents++;
        }
        var newFirmware = 0;
        foreach (var f in firmware)
        {
            var t = TargetOf(f.TargetId, f.Target);
            if (Scalar("SELECT COUNT(*) FROM firmware WHERE target_id = @t AND since = @s AND firmware = @f", tx, ("@t", t), ("@s", Ticks(f.Since)), ("@f", f.Firmware)) is long n && n > 0) continue;
            Exec("INSERT INTO firmware(target, target_id, firmware, since, agent, site) VALUES (@n, @t, @f, @s, @agent, @site)", tx,
                Me(("@n", f.Target), ("@t", t), ("@f", f.Firmware), ("@s", Ticks(f.Since))));
            newFirmware++;
        }
        foreach (var (name, at) in imports)
            Exec("INSERT INTO imported(source, at) VALUES (@s, @a) ON CONFLICT DO NOTHING", tx, ("@s", name), ("@a", at));
        tx.Commit();
        return new CopyCounts(newRuns, newIncidents, newFirmware, runs.Count, incidents.Count, firmware.Count);
    }

    /// <summary>The agent that wrote most of this history's runs (a file one agent wrote names it), or null.</summary>
    public string? WrittenBy() => Scalar("SELECT agent FROM run WHERE agent IS NOT NULL GROUP BY agent ORDER BY COUNT(*) DESC, agent LIMIT 1") as string;

    /// <summary>The site of <see cref="WrittenBy"/>'s last run, or null.</summary>
    public string? SiteOf(string agent) => Scalar("SELECT site FROM run WHERE agent = @a ORDER BY start DESC LIMIT 1", null, ("@a", agent)) as string;

    private List<(long Id, long Start, long Last, long? Stop)> Runs() => FourNumbers("SELECT id, start, last_alive, stop FROM run ORDER BY id");

    private List<(long Target, long Run, long Start, long? End)> WatchRows() => FourNumbers("SELECT target, run, start, \"end\" FROM watch ORDER BY id");

    /// <summary>Rows of three numbers and a fourth that may be null.</summary>
    private List<(long, long, long, long?)> FourNumbers(string sql)
    {
        using var cmd = Command(sql, null);
        using var r = Read(cmd);
        var list = new List<(long, long, long, long?)>();
        while (r.Read()) list.Add((r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.IsDBNull(3) ? null : r.GetInt64(3)));
        return list;
    }

    private Dictionary<long, List<(string Name, string Value)>> AllLabels()
    {
        using var cmd = Command("SELECT target, name, value FROM target_label", null);
        using var r = Read(cmd);
        var all = new Dictionary<long, List<(string, string)>>();
        while (r.Read())
        {
            if (!all.TryGetValue(r.GetInt64(0), out var list)) all[r.GetInt64(0)] = list = [];
            list.Add((r.GetString(1), r.GetString(2)));
        }
        return all;
    }

    private List<(string Source, long At)> Imports()
    {
        using var cmd = Command("SELECT source, at FROM imported", null);
        using var r = Read(cmd);
        var list = new List<(string, long)>();
        while (r.Read()) list.Add((r.GetString(0), r.GetInt64(1)));
        return list;
    }

    private protected static long Ticks(DateTimeOffset t) => t.UtcTicks;

    private protected static DateTimeOffset Time(long ticks) => ticks is >= 0 and <= 3155378975999999999
        ? new(ticks, TimeSpan.Zero)
        : throw new HistoryException($"a time out of range ({ticks}): the history database is damaged");

    /// <summary>A null that keeps its type (PostgreSQL cannot infer one for <c>@t IS NULL</c>).</summary>
    private sealed record TypedNull(DbType Type);

    private static readonly TypedNull NullText = new(DbType.String);
    private static readonly TypedNull NullNumber = new(DbType.Int64);

    /// <summary>A text parameter's value, or a typed null.</summary>
    private protected static object Text(string? s) => (object?)s ?? NullText;

    /// <summary>A number parameter's value, or a typed null.</summary>
    private protected static object Num(long? n) => (object?)n ?? NullNumber;

    /// <summary>The arguments with this agent's name and site (<c>@agent</c>, <c>@site</c>).</summary>
    private (string, object)[] Me(params (string, object)[] args) => [.. args, ("@agent", Agent.Name), ("@site", Text(Agent.Site))];

    private protected DbCommand Command(string sql, DbTransaction? tx, params (string, object)[] args)
    {
        var cmd = Db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (n, v) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = n;
            if (v is TypedNull t)
            {
                p.DbType = t.Type;
                p.Value = DBNull.Value;
            }
            else p.Value = v;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    private DbDataReader Read(DbCommand cmd)
    {
        try
        {
            return cmd.ExecuteReader();
        }
        catch (DbException e)
        {
            throw Describe(e);
        }
    }

    private protected int Exec(string sql, DbTransaction? tx = null, params (string, object)[] args)
    {
        using var cmd = Command(sql, tx, args);
        try
        {
            return cmd.ExecuteNonQuery();
        }
        catch (DbException e)
        {
            throw Describe(e);
        }
    }

    private protected object? Scalar(string sql, DbTransaction? tx = null, params (string, object)[] args)
    {
        using var cmd = Command(sql, tx, args);
        try
        {
            return cmd.ExecuteScalar() is var v && v is DBNull ? null : v;
        }
        catch (DbException e)
        {
            throw Describe(e);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Db.Dispose();
        GC.SuppressFinalize(this);
    }
}
