namespace ReachProbe.Tests.History;

/// <summary>
/// One throwaway PostgreSQL cluster for the test run's PostgreSQL tests (started once, stopped and deleted at the end).
/// Where it cannot be made (not root, no PostgreSQL) the tests are skipped with the reason — except under CI, where
/// that is a failure: the run must test the real thing.
/// </summary>
public sealed class PostgresFixture : IDisposable
{
    private int _databases;

    public PostgresFixture()
    {
        Unavailable = PostgresCluster.Unavailable();
        if (Unavailable is not null && Environment.GetEnvironmentVariable("CI") == "true")
            throw new InvalidOperationException($"CI runs the PostgreSQL tests: {Unavailable}");
        if (Unavailable is null && OperatingSystem.IsLinux()) Cluster = PostgresCluster.Start(port: 5433);
    }

    /// <summary>The cluster, or null where none can be made.</summary>
    public PostgresCluster? Cluster { get; }

    /// <summary>Why there is no cluster, or null.</summary>
    public string? Unavailable { get; }

    /// <summary>A new empty database's name, or null without a cluster.</summary>
    public string? NewDatabase()
    {
        if (Cluster is null) return null;
        var name = $"t{Environment.ProcessId}_{Interlocked.Increment(ref _databases)}";
        Cluster.CreateDatabase(name);
        return name;
    }

    public void Dispose() => Cluster?.Dispose();
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
