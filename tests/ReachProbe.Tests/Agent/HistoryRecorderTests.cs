using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ReachProbe.Agent;
using ReachProbe.History;

namespace ReachProbe.Tests.Agent;

/// <summary>The history heals: writes that fail are kept and written when the database takes writes again.</summary>
public sealed class HistoryRecorderTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 20, 0, 0, TimeSpan.Zero);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("reachprobe-recorder-");
    private readonly Prometheus.CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();

    public void Dispose()
    {
        if (_mount is not null) Run("umount", _mount);
        _dir.Delete(true);
    }

    private string? _mount;

    /// <summary>A verdict with one deaf incident from 60 s to 120 s (closed when it answered).</summary>
    private static TargetVerdict DeafIncident(FakeTimeProvider clock, bool close)
    {
        var v = new TargetVerdict(new VerdictOptions(), clock);
        v.Observe(new Evidence(EvidenceKind.EchoAnswered, T0.UtcTicks));
        for (var i = 0; i < 3; i++) v.Observe(new Evidence(EvidenceKind.DnsRepeatedAfterAnswer, T0.AddSeconds(60 + i).UtcTicks));
        if (close) v.Observe(new Evidence(EvidenceKind.EchoAnswered, T0.AddSeconds(120).UtcTicks));
        return v;
    }

    private string Metrics()
    {
        using var s = new MemoryStream();
        _registry.CollectAndExportAsTextAsync(s).GetAwaiter().GetResult();
        return System.Text.Encoding.UTF8.GetString(s.ToArray());
    }

    [Fact]
    public void DatabaseThatCannotBeOpenedAtStart_IsWrittenOnceItCan_NothingLost()
    {
        var db = Path.Combine(_dir.FullName, "history.db");
        Directory.CreateDirectory(db); // something in the way: SQLite cannot open a directory
        var clock = new FakeTimeProvider(T0);
        var recorder = new HistoryRecorder(db, new AgentMetrics(_registry), NullLogger.Instance);
        recorder.Start(T0);
        var verdict = DeafIncident(clock, close: true);
        recorder.Sync("console", verdict);
        recorder.Alive(T0.AddSeconds(125));
        Assert.True(recorder.Pending >= 3);
        Assert.Contains("reachprobe_history_up 0", Metrics());

        Directory.Delete(db);
        recorder.Alive(T0.AddSeconds(130));
        Assert.Equal(0, recorder.Pending);
        Assert.Contains("reachprobe_history_up 1", Metrics());
        recorder.Stop(T0.AddSeconds(140));
        using var store = HistoryStore.OpenReadOnly(db);
        var incident = Assert.Single(store.Incidents(T0));
        Assert.Equal(("deaf", "recovered"), (incident.State, incident.EndReason));
        Assert.Equal(3, incident.Count(EvidenceKind.DnsRepeatedAfterAnswer));
        Assert.Equal(new ObservedPeriod(T0, T0.AddSeconds(140)), Assert.Single(store.Observed()));
    }

    private static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)}: {output}");
        return output;
    }

    /// <summary>A 4 MB tmpfs of the test's own (needs root); unmounted by <see cref="Dispose"/>.</summary>
    private string SmallDisk()
    {
        ReachProbe.Testing.LabNetwork.RequireRoot();
        _mount = Path.Combine(_dir.FullName, "small");
        Directory.CreateDirectory(_mount);
        Run("mount", "-t", "tmpfs", "-o", "size=4m", "reachprobe-test", _mount);
        return _mount;
    }

    /// <summary>Fills the small disk to the last block; returns the file that holds it (delete it to heal).</summary>
    private string FillDisk()
    {
        var filler = Path.Combine(_mount!, "filler");
        using var f = File.Create(filler);
        var block = new byte[64 * 1024];
        try
        {
            while (true) f.Write(block);
        }
        catch (IOException)
        {
        }
        return filler;
    }

    [Fact]
    [Trait("Category", "Lab")]
    public void DiskFull_DuringAndAfterAnIncident_HistoryResumes_NothingLost()
    {
        var db = Path.Combine(SmallDisk(), "history.db");
        var clock = new FakeTimeProvider(T0);
        var recorder = new HistoryRecorder(db, new AgentMetrics(_registry), NullLogger.Instance);
        recorder.Start(T0);
        recorder.Alive(T0.AddSeconds(5));
        Assert.Equal(0, recorder.Pending);

        // The disk fills up: the deaf incident opens and closes while nothing can be written.
        var filler = FillDisk();
        var verdict = DeafIncident(clock, close: false);
        recorder.Sync("console", verdict);
        for (var t = 65; t < 120; t += 5) recorder.Alive(T0.AddSeconds(t));
        verdict.Observe(new Evidence(EvidenceKind.EchoAnswered, T0.AddSeconds(120).UtcTicks));
        recorder.Sync("console", verdict);
        Assert.True(recorder.Pending > 0, "nothing failed: the disk was not full");
        Assert.Contains("reachprobe_history_up 0", Metrics());

        // Space comes back: everything kept is written, in order.
        File.Delete(filler);
        for (var t = 125; t < 300 && recorder.Pending > 0; t += 5) recorder.Alive(T0.AddSeconds(t));
        Assert.Equal(0, recorder.Pending);
        recorder.Stop(T0.AddSeconds(300));
        using var store = HistoryStore.OpenReadOnly(db);
        var incident = Assert.Single(store.Incidents(T0));
        Assert.Equal(("deaf", "recovered"), (incident.State, incident.EndReason));
        Assert.Equal(T0.AddSeconds(60), incident.Start);
        Assert.Equal(3, incident.Count(EvidenceKind.DnsRepeatedAfterAnswer));
        Assert.DoesNotContain("reachprobe_history_writes_dropped_total 1", Metrics());
    }

    [Fact]
    [Trait("Category", "Lab")]
    public void DiskFull_Healed_SignsOfLifeResume_ACrashAfterCutsTheIncidentAtTheLastOne()
    {
        // The run's identity survives the store's reopening: after the disk heals, the run's last sign of life moves
        // on, so a kill -9 later closes the open incident there — not at its own start (zero length), as it did.
        var db = Path.Combine(SmallDisk(), "history.db");
        var clock = new FakeTimeProvider(T0);
        var recorder = new HistoryRecorder(db, new AgentMetrics(_registry), NullLogger.Instance);
        try
        {
            recorder.Start(T0);
            recorder.Watch([new TargetConfig { Name = "console", Ip = System.Net.IPAddress.Parse("198.18.0.27"), Probes = [], Interval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1) }], T0);
            var filler = FillDisk();
            var verdict = DeafIncident(clock, close: false); // deaf from T0 + 60 s, still open
            recorder.Sync("console", verdict);
            for (var t = 65; t < 120; t += 5) recorder.Alive(T0.AddSeconds(t));
            Assert.True(recorder.Pending > 0, "nothing failed: the disk was not full");
            File.Delete(filler);
            for (var t = 120; t <= 600; t += 5) recorder.Alive(T0.AddSeconds(t));
            Assert.Equal(0, recorder.Pending);

            // kill -9 at T0 + 600 s: no stop is written. The next start closes what was left open.
            using (var next = HistoryStore.Open(db))
                Assert.Equal(1, next.Start(T0.AddSeconds(700)));
            using var store = HistoryStore.OpenReadOnly(db);
            var incident = Assert.Single(store.Incidents(T0));
            Assert.Equal(("deaf", "cut_short"), (incident.State, incident.EndReason));
            Assert.Equal(T0.AddSeconds(60), incident.Start);
            Assert.Equal(T0.AddSeconds(600), incident.End);
            var watched = Assert.Single(store.Watched(null));
            Assert.Equal((T0, T0.AddSeconds(600)), (watched.Start, watched.End));
        }
        finally
        {
            recorder.Stop(T0.AddSeconds(800)); // the "crashed" recorder's connection, closed so the test's tmpfs can go
        }
    }

    [Fact]
    public void Unresponsive_ThatTurnsDeaf_IsThatIncidentFromItsStart_AndOneThatAnswers_IsItsOwnShortKind()
    {
        var db = Path.Combine(_dir.FullName, "history.db");
        var clock = new FakeTimeProvider(T0);
        var recorder = new HistoryRecorder(db, new AgentMetrics(_registry), NullLogger.Instance);
        recorder.Start(T0);
        var v = new TargetVerdict(new VerdictOptions(), clock) { Switched = true };
        void Feed(EvidenceKind kind, double at)
        {
            clock.AdjustTime(T0.AddSeconds(at));
            v.Observe(new Evidence(kind, T0.AddSeconds(at).UtcTicks));
            recorder.Sync("console", v);
        }
        Feed(EvidenceKind.ProbeAnswered, 0);
        for (var i = 0; i < 3; i++) Feed(EvidenceKind.ProbeUnanswered, 10 + i);
        Feed(EvidenceKind.ProbeUnanswered, 14);
        Assert.Equal(TargetState.Unresponsive, v.State);
        Feed(EvidenceKind.FrameFromTarget, 20);  // its broadcast: deaf, from 10 s
        Feed(EvidenceKind.ProbeAnswered, 60);
        for (var i = 0; i < 4; i++) Feed(EvidenceKind.ProbeUnanswered, 100 + i);
        Feed(EvidenceKind.ProbeAnswered, 105);    // answered before anything showed: unresponsive, 5 s
        recorder.Stop(T0.AddSeconds(120));

        using var store = HistoryStore.OpenReadOnly(db);
        var incidents = store.Incidents(T0);
        Assert.Equal([("deaf", T0.AddSeconds(10), T0.AddSeconds(60)), ("unresponsive", T0.AddSeconds(100), T0.AddSeconds(105))],
            incidents.Select(i => (i.State, i.Start, i.End!.Value)));
    }
}

/// <summary>
/// A PostgreSQL history that goes away and comes back: the recorder (its writer thread) keeps the writes in order,
/// retries with backoff and writes each once when the database is back. Its own throwaway cluster, stopped as a crash.
/// </summary>
public sealed class PostgresHistoryRecorderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 20, 0, 0, TimeSpan.Zero);
    private readonly Prometheus.CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();

    private string Metrics()
    {
        using var s = new MemoryStream();
        _registry.CollectAndExportAsTextAsync(s).GetAwaiter().GetResult();
        return System.Text.Encoding.UTF8.GetString(s.ToArray());
    }

    private static void Until(Func<bool> condition, TimeSpan limit, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < limit, $"{what}: not within {limit.TotalSeconds} s");
            Thread.Sleep(100);
        }
    }

    [SkippableFact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void DatabaseStoppedDuringAnOpenIncident_AndStartedAgain_EverythingWrittenOnce_InOrder()
    {
        var why = PostgresCluster.Unavailable();
        Skip.If(why is not null && Environment.GetEnvironmentVariable("CI") != "true", why);
        using var cluster = PostgresCluster.Start(port: 5434);
        var uri = cluster.CreateDatabase("fleet");
        var clock = new FakeTimeProvider(T0);
        var recorder = new HistoryRecorder(uri, new AgentMetrics(_registry), NullLogger.Instance, new HistoryAgent("pi-hall-a", "hall-a"));
        recorder.Start(T0);
        recorder.Watch([new TargetConfig { Name = "console", Ip = System.Net.IPAddress.Parse("198.18.0.27"), Probes = [], Interval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1) }], T0);
        recorder.Firmware("console", "9.00", T0);
        var verdict = new TargetVerdict(new VerdictOptions(), clock);
        verdict.Observe(new Evidence(EvidenceKind.EchoAnswered, T0.UtcTicks));
        for (var i = 0; i < 3; i++) verdict.Observe(new Evidence(EvidenceKind.DnsRepeatedAfterAnswer, T0.AddSeconds(60 + i).UtcTicks));
        recorder.Sync("console", verdict);
        recorder.Alive(T0.AddSeconds(65));
        Until(() => recorder.Pending == 0, TimeSpan.FromSeconds(30), "the open incident written");
        Assert.Equal("1", cluster.Psql("fleet", "SELECT count(*) FROM incident WHERE \"end\" IS NULL AND agent = 'pi-hall-a' AND site = 'hall-a'").Trim());

        // PostgreSQL crashes with the incident open; the incident ends while it is away, and the agent goes on.
        cluster.Stop("immediate");
        for (var t = 70; t < 120; t += 5) recorder.Alive(T0.AddSeconds(t));
        verdict.Observe(new Evidence(EvidenceKind.EchoAnswered, T0.AddSeconds(120).UtcTicks));
        recorder.Sync("console", verdict);
        recorder.Alive(T0.AddSeconds(125));
        Until(() => Metrics().Contains("reachprobe_history_up 0", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "history_up 0 with the database away");
        Assert.True(recorder.Pending > 0);

        // Back: everything kept is written, each once.
        cluster.StartServer();
        Until(() => recorder.Pending == 0 && Metrics().Contains("reachprobe_history_up 1", StringComparison.Ordinal), TimeSpan.FromSeconds(90), "written once the database is back");
        recorder.Stop(T0.AddSeconds(130));
        using var store = HistoryStore.OpenReadOnly(uri);
        var incident = Assert.Single(store.Incidents(T0));
        Assert.Equal(("deaf", "recovered", "9.00", "pi-hall-a", "hall-a"), (incident.State, incident.EndReason, incident.Firmware, incident.Agent, incident.Site));
        Assert.Equal(T0.AddSeconds(120), incident.End);
        Assert.Equal(3, incident.Count(EvidenceKind.DnsRepeatedAfterAnswer));
        Assert.Equal(new ObservedPeriod(T0, T0.AddSeconds(130)), Assert.Single(store.Observed()));
        Assert.DoesNotContain("reachprobe_history_writes_dropped_total 1", Metrics());
    }
}
