using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using ReachProbe.Cli;
using ReachProbe.History;
using ReachProbe.Testing;
using ReachProbe.Verdict;

namespace ReachProbe.Benchmarks;

/// <summary>
/// The fleet's history in a real PostgreSQL (a throwaway cluster, as root): the write path's throughput — agents
/// recording incidents (open, evidence, close) and signs of life as the agent does, one connection each — and
/// <c>report --db</c>'s time over a year of 100 agents × 10 consoles (a run a week, two incidents a week a console,
/// three firmware versions a year), with each of its statements' time from the server's log.
/// </summary>
internal static partial class FleetHistoryBenchmark
{
    private static readonly DateTimeOffset Start = new(2025, 12, 1, 0, 0, 0, TimeSpan.Zero);

    public static int Run(int agents, int consoles, int writeSeconds, string? program = null)
    {
        if (PostgresCluster.Unavailable() is { } why)
        {
            Console.Error.WriteLine($"fleet: {why}");
            return 2;
        }
        if (!OperatingSystem.IsLinux()) return 2;
        using var pg = PostgresCluster.Start(port: 5437);
        Console.WriteLine($"PostgreSQL {pg.Psql("postgres", "SHOW server_version").Trim()} (throwaway cluster, Unix socket, fsync off, {Environment.ProcessorCount} cores)");

        Console.WriteLine("Write path: each agent its own connection, as the agent writes (an incident: open, its evidence, close; a sign of life: one update)");
        foreach (var writers in new[] { 1, 10 })
        {
            var uri = pg.CreateDatabase($"writes{writers}");
            var (incidents, marks) = Writes(uri, writers, TimeSpan.FromSeconds(writeSeconds));
            Console.WriteLine($"  {writers,2} agent(s): {incidents,8:N0} incidents/s, {marks,8:N0} signs of life/s");
        }

        var fleet = pg.CreateDatabase("fleet");
        var w = Stopwatch.StartNew();
        Seed(pg, fleet, agents, consoles);
        var counts = pg.Psql("fleet", "SELECT (SELECT count(*) FROM incident) || ' incidents, ' || (SELECT count(*) FROM run) || ' runs, ' || (SELECT count(*) FROM watch) || ' watches, ' || pg_size_pretty(pg_database_size('fleet'))").Trim();
        Console.WriteLine($"A year of {agents} agents × {consoles} consoles: {counts} (made in {w.Elapsed.TotalSeconds:0.0} s)");
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Start.AddDays(364));
        foreach (var by in new[] { "firmware", "site", "model", "agent", "site,firmware", "week" })
            Console.WriteLine($"  report --since 52w --by {by,-14} {Time(fleet, clock, ["--since", "52w", "--by", by])}");
        Console.WriteLine($"  report --since 4w --site site-3 --incidents {Time(fleet, clock, ["--since", "4w", "--site", "site-3", "--incidents"])}");
        Console.WriteLine($"  as a command (a new process each time: start, JIT, connect, read, compute): {Process(fleet, null)}");
        if (program is not null) Console.WriteLine($"  as a command, {program}: {Process(fleet, program)}");

        // Each statement of one report as the server timed it, and the plans of the slow ones (auto_explain).
        pg.Psql("postgres", "ALTER DATABASE fleet SET log_min_duration_statement = 0; ALTER DATABASE fleet SET session_preload_libraries = 'auto_explain'; "
            + "ALTER DATABASE fleet SET auto_explain.log_min_duration = '20ms'; ALTER DATABASE fleet SET auto_explain.log_analyze = on");
        var log = Path.Combine(pg.Directory, "log");
        var before = File.ReadAllText(log).Length;
        ReportCommand.Run(["--db", fleet, "--since", "52w", "--by", "firmware"], TextWriter.Null, Console.Error, clock);
        var middle = File.ReadAllText(log).Length;
        ReportCommand.Run(["--db", fleet, "--since", "4w", "--site", "site-3", "--incidents"], TextWriter.Null, Console.Error, clock);
        pg.Psql("postgres", "ALTER DATABASE fleet RESET ALL");
        var recent = File.ReadAllText(log)[middle..];
        var text = File.ReadAllText(log)[before..middle];
        Console.WriteLine("  its statements (server time, report --by firmware):");
        foreach (Match m in Statement().Matches(text))
        {
            var sql = Regex.Replace(m.Groups[2].Value, @"\s+", " ").Trim();
            Console.WriteLine($"    {double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),8:0.0} ms  {sql[..Math.Min(110, sql.Length)]}");
        }
        Console.WriteLine("  the plans of those over 20 ms:");
        Plans(text);
        Console.WriteLine("  report --since 4w --site site-3 --incidents, its statements:");
        foreach (Match m in Statement().Matches(recent))
        {
            var sql = Regex.Replace(m.Groups[2].Value, @"\s+", " ").Trim();
            Console.WriteLine($"    {double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),8:0.0} ms  {sql[..Math.Min(110, sql.Length)]}");
        }
        Plans(recent);
        return 0;
    }

    private static void Plans(string text)
    {
        foreach (Match m in Plan().Matches(text))
            foreach (var line in m.Groups[1].Value.Split('\n').Where(l => l.Contains("->", StringComparison.Ordinal) || l.TrimStart().StartsWith("Sort", StringComparison.Ordinal) || l.Contains("Scan", StringComparison.Ordinal) || l.Contains("Join", StringComparison.Ordinal)))
                Console.WriteLine($"    {line.Replace("\t", "  ", StringComparison.Ordinal).TrimEnd()}");
    }

    /// <summary>
    /// <paramref name="writers"/> agents for <paramref name="length"/> each: incidents first (half the time), then signs
    /// of life; returns each per second, all agents together.
    /// </summary>
    private static (double Incidents, double Marks) Writes(string uri, int writers, TimeSpan length)
    {
        var stores = Enumerable.Range(0, writers).Select(i => HistoryStore.Open(uri, new HistoryAgent($"bench-{i}", $"site-{i % 3}"))).ToList();
        try
        {
            var now = Start;
            foreach (var (s, i) in stores.Select((s, i) => (s, i)))
            {
                s.Start(now);
                s.Watch(Enumerable.Range(0, 10).Select(c => ($"ps5-{c}", (string?)$"198.18.{i}.{20 + c}", (string?)$"02:00:00:{i:x2}:00:{c:x2}")).ToList(), now);
            }
            var evidence = new EvidenceCounts();
            for (var k = 0; k < 6; k++) evidence.Add(new Evidence(EvidenceKind.ProbeUnanswered, now.UtcTicks));
            evidence.Add(new Evidence(EvidenceKind.FrameFromTarget, now.UtcTicks));
            double Phase(Action<HistoryStore, int, long> write)
            {
                long total = 0;
                var watch = Stopwatch.StartNew();
                Parallel.ForEach(stores.Select((s, i) => (s, i)), new ParallelOptions { MaxDegreeOfParallelism = writers }, x =>
                {
                    long n = 0;
                    while (watch.Elapsed < length / 2) write(x.s, x.i, n++);
                    Interlocked.Add(ref total, n);
                });
                return total / watch.Elapsed.TotalSeconds;
            }
            var incidents = Phase((s, i, n) =>
            {
                var at = now.AddMinutes(n);
                var id = s.OpenIncident($"ps5-{n % 10}", TargetState.Deaf, at, "9.03");
                s.UpdateEvidence(id, evidence);
                s.CloseIncident(id, at.AddSeconds(20), "recovered", evidence);
            });
            var marks = Phase((s, i, n) => s.Alive(now.AddSeconds(n)));
            return (incidents, marks);
        }
        finally
        {
            foreach (var s in stores) s.Dispose();
        }
    }

    /// <summary>The year's history, written by the schema the agent makes and then filled in bulk with SQL.</summary>
    private static void Seed(PostgresCluster pg, string uri, int agents, int consoles)
    {
        using (HistoryStore.Open(uri, new HistoryAgent("bench", null))) { }
        const long Second = 10_000_000, Week = 7 * 86_400 * Second;
        var s0 = Start.UtcTicks;
        pg.Psql("fleet", $"""
            INSERT INTO run(start, last_alive, stop, agent, site)
              SELECT {s0} + w * {Week}, {s0} + (w + 1) * {Week} - 5 * {Second}, {s0} + (w + 1) * {Week} - {Second}, 'pi-' || a, 'site-' || (a % 20)
              FROM generate_series(0, {agents - 1}) a, generate_series(0, 51) w;
            INSERT INTO target(id, name, ip, mac, agent)
              SELECT a * {consoles} + c + 1, 'console-' || c, '198.18.' || a || '.' || (20 + c), '02:00:' || lpad(to_hex(a / 256), 2, '0') || ':' || lpad(to_hex(a % 256), 2, '0') || ':00:' || lpad(to_hex(c), 2, '0'), 'pi-' || a
              FROM generate_series(0, {agents - 1}) a, generate_series(0, {consoles - 1}) c;
            SELECT setval(pg_get_serial_sequence('target', 'id'), (SELECT max(id) FROM target));
            INSERT INTO target_label(target, name, value) SELECT id, 'model', CASE WHEN id % 2 = 0 THEN 'PS5' ELSE 'PS4' END FROM target;
            INSERT INTO watch(target, run, start, "end") SELECT t.id, r.id, r.start, r.stop FROM run r JOIN target t ON t.agent = r.agent;
            -- Three firmware versions a year, each console updating on a day of its own.
            INSERT INTO firmware(target, target_id, firmware, since, agent, site)
              SELECT t.name, t.id, v.fw, {s0} + (v.week * 7 + t.id % 7) * 86400 * {Second}, t.agent, 'site-' || (substr(t.agent, 4)::int % 20)
              FROM target t, (VALUES ('9.00', 0), ('9.03', 17), ('9.05', 35)) v(fw, week);
            -- Two incidents a week a console (one in seven down), 5 to 45 minutes, with their evidence.
            INSERT INTO incident(target, target_id, state, start, "end", end_reason, firmware, source, agent, site)
              SELECT t.name, t.id, CASE WHEN (w + k + t.id) % 7 = 0 THEN 'down' ELSE 'deaf' END,
                     {s0} + w * {Week} + ((k * 3 + 1) * 86400 + (t.id * 37 % 86400)) * {Second},
                     {s0} + w * {Week} + ((k * 3 + 1) * 86400 + (t.id * 37 % 86400) + 300 + (t.id * 7 + w * 13) % 2400) * {Second},
                     'recovered', CASE WHEN w < 17 THEN '9.00' WHEN w < 35 THEN '9.03' ELSE '9.05' END, 'agent', t.agent, 'site-' || (substr(t.agent, 4)::int % 20)
              FROM target t, generate_series(0, 51) w, generate_series(0, 1) k;
            INSERT INTO incident_evidence(incident, kind, count) SELECT id, 'probe_unanswered', 6 FROM incident;
            INSERT INTO incident_evidence(incident, kind, count) SELECT id, 'frame_from_target', 40 FROM incident WHERE state = 'deaf';
            ANALYZE;
            """);
    }

    private static string Time(string db, TimeProvider clock, string[] args)
    {
        var times = new List<double>();
        var lines = 0;
        for (var i = 0; i < 5; i++)
        {
            var output = new StringWriter();
            var w = Stopwatch.StartNew();
            var code = ReportCommand.Run(["--db", db, .. args], output, Console.Error, clock);
            times.Add(w.Elapsed.TotalMilliseconds);
            if (code != 0) return $"failed (exit {code})";
            lines = output.ToString().Split('\n').Length;
        }
        var first = times[0];
        times.Sort();
        return $"first {first,5:0} ms, median {times[times.Count / 2],5:0} ms ({lines} lines)";
    }

    /// <summary><c>dotnet reachprobe.dll report --db … --by firmware</c> over the whole year, as a user runs it: 5 runs.</summary>
    private static string Process(string db, string? program)
    {
        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var psi = new ProcessStartInfo(program ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in (program is null ? [Path.Combine(AppContext.BaseDirectory, "reachprobe.dll")] : Array.Empty<string>()).Concat(["report", "--db", db, "--since", "60w", "--by", "firmware"])) psi.ArgumentList.Add(a);
            var w = Stopwatch.StartNew();
            using var p = System.Diagnostics.Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEndAsync();
            var error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            times.Add(w.Elapsed.TotalMilliseconds);
            if (p.ExitCode != 0) return $"failed (exit {p.ExitCode}): {error}";
            _ = output.Result;
        }
        times.Sort();
        return $"median {times[2]:0} ms, min {times[0]:0} ms, max {times[^1]:0} ms (5 runs{(program is null ? ", the framework-dependent build" : "")})";
    }

    [GeneratedRegex(@"duration: ([\d.]+) ms\s+(?:statement|execute [^:]*): (.*?)(?=\n\S|\z)", RegexOptions.Singleline)]
    private static partial Regex Statement();

    [GeneratedRegex(@"duration: [\d.]+ ms\s+plan:\s*\n(.*?)(?=\n\S|\z)", RegexOptions.Singleline)]
    private static partial Regex Plan();
}
