using Npgsql;
using ReachProbe.History;
using ReachProbe.Testing;

namespace ReachProbe.Tests.History;

/// <summary>A PostgreSQL history's URI, as psql takes it: what it connects to, what is shown, what is refused — never its password.</summary>
public sealed class PostgresLocationTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    private static (NpgsqlConnectionStringBuilder Built, string Display) Parse(string uri, Func<string, string?>? environment = null)
    {
        var location = PostgresLocation.Parse(uri, environment ?? NoEnvironment);
        return (new NpgsqlConnectionStringBuilder(location.ConnectionString), location.Display);
    }

    [Fact]
    public void HostDatabaseUserAndSslMode_TheDisplayAsGiven()
    {
        var (b, display) = Parse("postgresql://reachprobe@db.example/fleet?sslmode=require");
        Assert.Equal(("db.example", 5432, "fleet", "reachprobe", SslMode.Require), (b.Host, b.Port, b.Database, b.Username, b.SslMode));
        Assert.Equal("postgresql://reachprobe@db.example/fleet", display);
        Assert.Equal("reachprobe", b.ApplicationName);
    }

    [Fact]
    public void PasswordInTheUri_IsUsedAndNeverShown()
    {
        var (b, display) = Parse("postgres://agent:p%40ss:w0rd@db.example:6543/fleet");
        Assert.Equal(("agent", "p@ss:w0rd", 6543), (b.Username, b.Password, b.Port));
        Assert.Equal("postgresql://agent@db.example:6543/fleet", display);
    }

    [Fact]
    public void UnixSocketDirectory_AsAParameter()
    {
        var (b, display) = Parse("postgresql://postgres@/fleet?host=/run/postgresql&port=5433");
        Assert.Equal(("/run/postgresql", 5433, "fleet"), (b.Host, b.Port, b.Database));
        Assert.Equal("postgresql://postgres@/fleet?host=/run/postgresql&port=5433", display);
    }

    [Fact]
    public void IPv6Host_InBrackets()
    {
        var (b, display) = Parse("postgresql://agent@[2001:db8::5]:5433/fleet");
        Assert.Equal(("2001:db8::5", 5433), (b.Host, b.Port));
        Assert.Equal("postgresql://agent@[2001:db8::5]:5433/fleet", display);
    }

    [Fact]
    public void TheEnvironment_FillsWhatTheUriLeavesOut_AndItsPasswordIsTaken()
    {
        var env = new Dictionary<string, string> { ["PGHOST"] = "db.example", ["PGPORT"] = "6000", ["PGUSER"] = "agent", ["PGDATABASE"] = "fleet", ["PGPASSWORD"] = "s3cret" };
        var (b, display) = Parse("postgresql://", env.GetValueOrDefault);
        Assert.Equal(("db.example", 6000, "agent", "fleet", "s3cret"), (b.Host, b.Port, b.Username, b.Database, b.Password));
        Assert.Equal("postgresql://agent@db.example:6000/fleet", display);
        // The URI wins over the environment.
        (b, _) = Parse("postgresql://other@elsewhere:7000/db2", env.GetValueOrDefault);
        Assert.Equal(("elsewhere", 7000, "other", "db2"), (b.Host, b.Port, b.Username, b.Database));
    }

    [Fact]
    public void APasswordFile_FromTheEnvironmentOrTheUri()
    {
        var (b, _) = Parse("postgresql://agent@db.example/fleet", new Dictionary<string, string> { ["PGPASSFILE"] = "/etc/reachprobe/pgpass" }.GetValueOrDefault);
        Assert.Equal("/etc/reachprobe/pgpass", b.Passfile);
        (b, _) = Parse("postgresql://agent@db.example/fleet?passfile=/run/credentials/reachprobe.service/pgpass");
        Assert.Equal("/run/credentials/reachprobe.service/pgpass", b.Passfile);
    }

    [Theory]
    [InlineData("postgresql://agent:hunter2@db.example:99999/fleet", "port '99999' is not a number from 1 to 65535")]
    [InlineData("postgresql://agent:hunter2@db.example/fleet?sslmode=sometimes", "sslmode 'sometimes' is none of disable, allow, prefer, require, verify-ca, verify-full")]
    [InlineData("postgresql://agent:hunter2@db.example/fleet?pool=5", "unknown parameter 'pool'")]
    [InlineData("postgresql://agent:hunter2@[2001:db8::5/fleet", "an IPv6 host needs its closing ]")]
    [InlineData("postgresql://agent:hunter2@db.example/fleet?connect_timeout=0", "connect_timeout '0' is not a number of seconds from 1 to 3600")]
    public void BadUris_SayWhatIsWrong_NeverThePassword(string uri, string expected)
    {
        var e = Assert.Throws<HistoryException>(() => PostgresLocation.Parse(uri, NoEnvironment));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain("hunter2", e.Message);
    }
}

/// <summary>
/// Passwords against the real server: a role that must give one (scram-sha-256), found in PGPASSWORD or a password
/// file, and a wrong or missing one said in words that never hold it.
/// </summary>
[Collection(PostgresCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PostgresPasswordTests(PostgresFixture postgres)
{
    private const string Role = "fleet_pw", Secret = "Corr3ct-Horse";

    /// <summary>A database only <see cref="Role"/> may open, with its password; returns its URI without one.</summary>
    private string Database()
    {
        var name = postgres.NewDatabase() ?? throw new SkipException(postgres.Unavailable!);
        var cluster = postgres.Cluster!;
        cluster.Psql("postgres", $"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{Role}') THEN CREATE ROLE {Role} LOGIN PASSWORD '{Secret}'; END IF; END $$");
        cluster.Psql(name, $"GRANT ALL ON SCHEMA public TO {Role}; ALTER DATABASE {name} OWNER TO {Role}");
        cluster.RequirePassword(Role);
        var uri = cluster.Uri(name).Replace("postgres@", $"{Role}@", StringComparison.Ordinal);
        // Its schema, made by the role itself (with its password in the URI).
        using (HistoryStore.Open(uri.Replace($"{Role}@", $"{Role}:{Secret}@", StringComparison.Ordinal), new HistoryAgent("maker", null))) { }
        return uri;
    }

    [SkippableFact]
    public void APasswordFile_OpensIt()
    {
        var uri = Database();
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, $"*:*:*:{Role}:{Secret}\n");
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            using var store = HistoryStore.Open(uri + "&passfile=" + Uri.EscapeDataString(file), new HistoryAgent("pi", null));
            store.Start(DateTimeOffset.UnixEpoch.AddYears(56));
            Assert.NotNull(store.Run);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [SkippableFact]
    public void NoPasswordOrAWrongOne_IsOneLineThatNeverHoldsIt()
    {
        var uri = Database();
        var e = Assert.Throws<HistoryException>(() => HistoryStore.Open(uri, new HistoryAgent("pi", null)).Dispose());
        Assert.Contains("the database wants a password and none was given; give it in PGPASSWORD or a password file", e.Message);
        var wrong = uri.Replace($"{Role}@", $"{Role}:Wr0ng-Horse@", StringComparison.Ordinal);
        e = Assert.Throws<HistoryException>(() => HistoryStore.Open(wrong, new HistoryAgent("pi", null)).Dispose());
        Assert.Contains("refused the credentials", e.Message);
        Assert.DoesNotContain("Wr0ng-Horse", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [SkippableFact]
    public void TheCommand_TakesPGPASSWORD_AndHomesPgpass()
    {
        var uri = Database();
        var home = Directory.CreateTempSubdirectory("reachprobe-home-").FullName;
        try
        {
            // PGPASSWORD, as a service's environment gives it.
            var (code, _, err) = Reachprobe(uri, new() { ["PGPASSWORD"] = Secret, ["HOME"] = home });
            Assert.True(code == 0, err);
            // ~/.pgpass, as psql reads it.
            File.WriteAllText(Path.Combine(home, ".pgpass"), $"*:*:*:{Role}:{Secret}\n");
            File.SetUnixFileMode(Path.Combine(home, ".pgpass"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
            (code, _, err) = Reachprobe(uri, new() { ["HOME"] = home });
            Assert.True(code == 0, err);
            // Neither: one line, exit 2.
            File.Delete(Path.Combine(home, ".pgpass"));
            (code, _, err) = Reachprobe(uri, new() { ["HOME"] = home });
            Assert.Equal(2, code);
            Assert.Contains("wants a password and none was given", Assert.Single(err.Trim().Split('\n')));
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    /// <summary><c>reachprobe report --db URI</c> in a process of its own, with <paramref name="environment"/>.</summary>
    private static (int Code, string Out, string Err) Reachprobe(string uri, Dictionary<string, string> environment)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "reachprobe.dll"), "report", "--db", uri, "--since", "1d" }) psi.ArgumentList.Add(a);
        foreach (var name in new[] { "PGPASSWORD", "PGPASSFILE", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE" }) psi.Environment.Remove(name);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(60_000), "reachprobe report did not finish within a minute");
        return (p.ExitCode, output.Result, error);
    }
}
