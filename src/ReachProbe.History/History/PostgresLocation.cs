using System.Globalization;
using Npgsql;

namespace ReachProbe.History;

/// <summary>
/// A PostgreSQL database given as psql takes it: <c>postgresql://[user[:password]@][host][:port][/dbname][?param=value&amp;…]</c>
/// (or <c>postgres://</c>), with <c>host</c> also as a parameter (a socket directory: <c>?host=/run/postgresql</c>).
/// The password comes from the URI, else <c>PGPASSWORD</c>, else the password file (<c>PGPASSFILE</c>, else
/// <c>~/.pgpass</c>); it is never shown: <see cref="Display"/> is the URI without it.
/// </summary>
public sealed record PostgresLocation(string ConnectionString, string Display)
{
    /// <summary>Whether <paramref name="location"/> names a PostgreSQL database rather than an SQLite file.</summary>
    public static bool IsUri(string location) =>
        location.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase);

    // The URI parameters understood, as libpq names them.
    private static readonly string[] Parameters = ["host", "port", "user", "dbname", "password", "sslmode", "connect_timeout", "application_name", "passfile"];

    /// <summary>Parses a URI; throws <see cref="HistoryException"/> naming what is wrong (never echoing a password).</summary>
    public static PostgresLocation Parse(string uri, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var scheme = uri.IndexOf("://", StringComparison.Ordinal) + 3;
        var rest = uri[scheme..];
        var query = "";
        if (rest.IndexOf('?') is var q and >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }
        var path = "";
        if (rest.IndexOf('/') is var slash and >= 0)
        {
            path = rest[(slash + 1)..];
            rest = rest[..slash];
        }
        string? user = null, password = null;
        if (rest.LastIndexOf('@') is var at and >= 0)
        {
            var credentials = rest[..at];
            rest = rest[(at + 1)..];
            var colon = credentials.IndexOf(':');
            user = Unescape(colon >= 0 ? credentials[..colon] : credentials);
            if (colon >= 0) password = Unescape(credentials[(colon + 1)..]);
        }
        string? host = null, port = null;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']');
            if (close < 0) throw Bad(uri, "an IPv6 host needs its closing ]");
            host = rest[1..close];
            if (close + 1 < rest.Length)
            {
                if (rest[close + 1] != ':') throw Bad(uri, "after ] comes :PORT or nothing");
                port = rest[(close + 2)..];
            }
        }
        else if (rest.Length > 0)
        {
            var colon = rest.LastIndexOf(':');
            host = Unescape(colon >= 0 ? rest[..colon] : rest);
            if (colon >= 0) port = rest[(colon + 1)..];
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = Unescape(eq >= 0 ? pair[..eq] : pair);
            if (!Parameters.Contains(name)) throw Bad(uri, $"unknown parameter '{Settings.Quote.Clip(name)}' (known: {string.Join(", ", Parameters)})");
            values[name] = eq >= 0 ? Unescape(pair[(eq + 1)..]) : "";
        }
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = values.GetValueOrDefault("host") ?? (string.IsNullOrEmpty(host) ? environment("PGHOST") ?? "localhost" : host),
            Database = path.Length > 0 ? Unescape(path) : values.GetValueOrDefault("dbname") ?? environment("PGDATABASE"),
            Username = values.GetValueOrDefault("user") ?? user ?? environment("PGUSER") ?? Environment.UserName,
            ApplicationName = values.GetValueOrDefault("application_name") ?? "reachprobe",
            // A database away must not hold the agent for long: connecting gives up after a few seconds, a query after 30.
            Timeout = 5,
            CommandTimeout = 30,
            Pooling = false,
            // Many agents, many months: never kept waiting on a silent peer (keepalives find a cut network).
            KeepAlive = 30,
        };
        var portText = values.GetValueOrDefault("port") ?? port ?? environment("PGPORT");
        if (!string.IsNullOrEmpty(portText))
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
                throw Bad(uri, $"port '{Settings.Quote.Clip(portText)}' is not a number from 1 to 65535");
            b.Port = p;
        }
        if (values.GetValueOrDefault("connect_timeout") is { } timeout)
        {
            if (!int.TryParse(timeout, NumberStyles.None, CultureInfo.InvariantCulture, out var t) || t is < 1 or > 3600)
                throw Bad(uri, $"connect_timeout '{Settings.Quote.Clip(timeout)}' is not a number of seconds from 1 to 3600");
            b.Timeout = t;
        }
        if (values.GetValueOrDefault("sslmode") is { } ssl)
        {
            b.SslMode = ssl switch
            {
                "disable" => SslMode.Disable,
                "allow" => SslMode.Allow,
                "prefer" => SslMode.Prefer,
                "require" => SslMode.Require,
                "verify-ca" => SslMode.VerifyCA,
                "verify-full" => SslMode.VerifyFull,
                _ => throw Bad(uri, $"sslmode '{Settings.Quote.Clip(ssl)}' is none of disable, allow, prefer, require, verify-ca, verify-full"),
            };
        }
        password = values.GetValueOrDefault("password") ?? password ?? environment("PGPASSWORD");
        if (password is not null) b.Password = password;
        else if ((values.GetValueOrDefault("passfile") ?? environment("PGPASSFILE")) is { Length: > 0 } passfile) b.Passfile = passfile;
        if (string.IsNullOrEmpty(b.Database)) b.Database = b.Username;
        var display = $"postgresql://{b.Username}@{(b.Host!.StartsWith('/') ? "" : b.Host.Contains(':') ? $"[{b.Host}]" : b.Host)}"
            + $"{(b.Host.StartsWith('/') || b.Port == 5432 ? "" : $":{b.Port}")}/{b.Database}"
            + (b.Host.StartsWith('/') ? $"?host={b.Host}{(b.Port == 5432 ? "" : $"&port={b.Port}")}" : "");
        return new PostgresLocation(b.ConnectionString, display);
    }

    private static string Unescape(string s)
    {
        try
        {
            return Uri.UnescapeDataString(s);
        }
        catch (UriFormatException)
        {
            return s;
        }
    }

    // The URI is not echoed: it may hold a password.
    private static HistoryException Bad(string uri, string what) =>
        new($"{(uri.Contains('@') ? "the PostgreSQL URI" : Settings.Quote.Clip(uri))}: {what} (postgresql://[user@][host][:port][/dbname][?host=/socket/dir&sslmode=…])");
}
