using System.Diagnostics;
using System.Globalization;

namespace ReachProbe.Testing;

/// <summary>
/// A throwaway PostgreSQL cluster (Debian's <c>postgresql</c>): made with <c>initdb</c> in a directory of its own,
/// started with <c>pg_ctl</c> listening only on a Unix socket in that directory (reachable from every network
/// namespace, since a socket is a file), stopped and deleted on dispose. Runs as the <c>postgres</c> user (initdb
/// refuses root), trust authentication for the <c>postgres</c> role. Each test makes its own database in it.
/// </summary>
public sealed class PostgresCluster : IDisposable
{
    private readonly string _bin;
    private bool _running;

    /// <summary>The cluster's directory (socket, data, log).</summary>
    public string Directory { get; }

    /// <summary>The port its socket is named for (<c>.s.PGSQL.PORT</c>).</summary>
    public int Port { get; }

    private PostgresCluster(string bin, string directory, int port)
    {
        _bin = bin;
        Directory = directory;
        Port = port;
    }

    /// <summary>Why a cluster cannot be made here (not root, no PostgreSQL), or null.</summary>
    public static string? Unavailable()
    {
        if (Environment.UserName != "root") return "a throwaway PostgreSQL needs root (to run initdb as the postgres user)";
        if (Bin() is null) return "PostgreSQL is not installed (bash .ci/deps installs postgresql)";
        return null;
    }

    private static string? Bin() =>
        System.IO.Directory.Exists("/usr/lib/postgresql")
            ? System.IO.Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "pg_ctl"))).Order().LastOrDefault()
            : null;

    /// <summary>Makes and starts a cluster; throws when it cannot (see <see cref="Unavailable"/>).</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static PostgresCluster Start(int port = 5432)
    {
        if (Unavailable() is { } why) throw new InvalidOperationException(why);
        var dir = System.IO.Directory.CreateTempSubdirectory("reachprobe-pg-").FullName;
        File.SetUnixFileMode(dir, (UnixFileMode)Convert.ToInt32("755", 8));
        Run("chown", "postgres", dir);
        var cluster = new PostgresCluster(Bin()!, dir, port);
        try
        {
            cluster.AsPostgres("initdb", "-D", Path.Combine(dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync");
            cluster.StartServer();
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    /// <summary>The URI of database <paramref name="database"/> over the socket, as an agent takes it.</summary>
    public string Uri(string database) => $"postgresql://postgres@/{database}?host={Directory}&port={Port}";

    /// <summary>Makes an empty database; returns its URI.</summary>
    public string CreateDatabase(string name)
    {
        Psql("postgres", $"CREATE DATABASE {name}");
        return Uri(name);
    }

    /// <summary>Runs SQL in <paramref name="database"/> with psql; returns what it printed (unaligned, tuples only).</summary>
    public string Psql(string database, string sql) =>
        AsPostgres("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", Directory, "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-d", database, "-c", sql);

    /// <summary>Makes <paramref name="role"/> log in with its password (scram-sha-256) over the socket; the others keep trust.</summary>
    public void RequirePassword(string role)
    {
        var hba = Path.Combine(Directory, "data", "pg_hba.conf");
        var line = $"local all {role} scram-sha-256";
        var lines = File.ReadAllLines(hba);
        if (lines.Contains(line)) return;
        File.WriteAllLines(hba, [line, .. lines]);
        AsPostgres("pg_ctl", "-D", Path.Combine(Directory, "data"), "reload");
        // The postmaster rereads the file on the signal, a moment later.
        Thread.Sleep(500);
    }

    /// <summary>Starts the server (again, after <see cref="Stop"/>).</summary>
    public void StartServer()
    {
        AsPostgres("pg_ctl", "-D", Path.Combine(Directory, "data"), "-o",
            $"-c listen_addresses='' -c unix_socket_directories='{Directory}' -p {Port} -c fsync=off -c max_connections=200",
            "-l", Path.Combine(Directory, "log"), "-w", "start");
        _running = true;
    }

    /// <summary>Stops the server: <c>fast</c> (a clean shutdown) or <c>immediate</c> (as a crash).</summary>
    public void Stop(string mode = "fast")
    {
        AsPostgres("pg_ctl", "-D", Path.Combine(Directory, "data"), "-m", mode, "-w", "stop");
        _running = false;
    }

    private string AsPostgres(string tool, params string[] args) =>
        Run("setpriv", ["--reuid=postgres", "--regid=postgres", "--clear-groups", Path.Combine(_bin, tool), .. args]);

    private static string Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        if (!p.WaitForExit(120_000)) throw new TimeoutException($"{file} {string.Join(' ', args)}: still running after 2 min");
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {p.ExitCode}: {stderr}");
        return stdout.GetAwaiter().GetResult();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        try
        {
            if (_running) Stop("immediate");
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
