using System.Data.Common;
using Npgsql;

namespace ReachProbe.History;

/// <summary>
/// The history in PostgreSQL, for a fleet: many agents write one database at once, each row carrying its agent and
/// site. The schema is made and migrated by the first agent to connect (under an advisory lock, so three agents
/// starting together make it once), at the same versions as SQLite's (<see cref="HistorySchema.Version"/>, kept in
/// <c>reachprobe_schema</c>); a newer one is refused.
/// </summary>
public sealed class PostgresHistoryStore : HistoryStore
{
    // pg_advisory_xact_lock keys: one for the schema, one for target identities (two agents that see one MAC make one row).
    private const long SchemaLock = 0x52505F534348;
    private const long IdentityLock = 0x52505F494453;

    private PostgresHistoryStore(NpgsqlConnection db, string display, HistoryAgent agent) : base(db, display, agent)
    {
    }

    private protected override string Greatest => "GREATEST";

    private protected override string FirmwareOrder => "id";

    private protected override void LockIdentities(DbTransaction tx) => Exec($"SELECT pg_advisory_xact_lock({IdentityLock})", tx);

    private protected override HistoryException Describe(DbException e) => new(Describe(Path, e), e);

    /// <summary>A driver's failure in a person's words, naming the database (never its password).</summary>
    internal static string Describe(string display, Exception e) => e switch
    {
        PostgresException { SqlState: "28P01" or "28000" } p => $"{display}: the database refused the credentials ({p.MessageText}); give the password in PGPASSWORD or a password file (PGPASSFILE, ~/.pgpass)",
        PostgresException { SqlState: "3D000" } p => $"{display}: {p.MessageText} (create it: createdb)",
        PostgresException { SqlState: "42501" } p => $"{display}: not allowed: {p.MessageText} (the user needs CREATE on the database to make the schema, or the schema made by one that has)",
        PostgresException { SqlState: "57P01" or "57P02" or "57P03" } p => $"{display}: the database is shutting down or starting ({p.MessageText})",
        PostgresException p => $"{display}: {p.MessageText} (PostgreSQL {p.SqlState})",
        NpgsqlException n when n is not PostgresException && n.Message.Contains("No password has been provided", StringComparison.Ordinal) =>
            $"{display}: the database wants a password and none was given; give it in PGPASSWORD or a password file (PGPASSFILE, ~/.pgpass)",
        NpgsqlException { InnerException: { } inner } when inner is System.Net.Sockets.SocketException or IOException or TimeoutException =>
            $"{display}: cannot reach the database: {inner.Message}",
        _ => $"{display}: {e.Message}",
    };

    /// <summary>Connects, making or upgrading the schema; throws <see cref="HistoryException"/> naming the problem.</summary>
    public static new PostgresHistoryStore Open(string uri, HistoryAgent agent)
    {
        var location = PostgresLocation.Parse(uri);
        var db = Connect(location);
        try
        {
            var store = new PostgresHistoryStore(db, location.Display, agent);
            store.Initialise();
            return store;
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>Connects to read (<c>report</c>): every transaction read-only; a database without ReachProbe's schema is refused.</summary>
    public static new PostgresHistoryStore OpenReadOnly(string uri)
    {
        var location = PostgresLocation.Parse(uri);
        var db = Connect(location);
        try
        {
            var store = new PostgresHistoryStore(db, location.Display, HistoryAgent.Default);
            store.Exec("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
            var version = store.Version(null) ?? throw new HistoryException($"{location.Display}: no ReachProbe history in this database (an agent with --db {location.Display} makes it)");
            if (version > SchemaVersion)
                throw new HistoryException($"{location.Display}: the history database is from a newer ReachProbe (schema {version}, this one reads {SchemaVersion})");
            return store;
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    private static NpgsqlConnection Connect(PostgresLocation location)
    {
        var db = new NpgsqlConnection(location.ConnectionString);
        try
        {
            db.Open();
            return db;
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException or IOException)
        {
            db.Dispose();
            throw new HistoryException(Describe(location.Display, e), e);
        }
    }

    // The schema's version, or null when the database has no ReachProbe schema.
    private int? Version(DbTransaction? tx)
    {
        if (Scalar("SELECT to_regclass('reachprobe_schema') IS NOT NULL", tx) is not true) return null;
        return Scalar("SELECT MAX(version) FROM reachprobe_schema", tx) is int v ? v : 0;
    }

    private void Initialise()
    {
        using var tx = Db.BeginTransaction();
        Exec($"SELECT pg_advisory_xact_lock({SchemaLock})", tx);
        var version = Version(tx);
        if (version > SchemaVersion)
            throw new HistoryException($"{Path}: the history database is from a newer ReachProbe (schema {version}, this one reads {SchemaVersion})");
        if (version is null)
        {
            if (Scalar("SELECT to_regclass('incident') IS NOT NULL", tx) is true)
                throw new HistoryException($"{Path}: the database has a table 'incident' that is not ReachProbe's: give ReachProbe a database of its own");
            Exec(HistorySchema.Postgres, tx);
            Exec("CREATE TABLE reachprobe_schema (version INTEGER NOT NULL); INSERT INTO reachprobe_schema VALUES (@v)", tx, ("@v", SchemaVersion));
        }
        // Versions past 5 migrate here, one step each, as SQLite's do.
        tx.Commit();
    }
}
