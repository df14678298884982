using System.Diagnostics;
using Microsoft.Data.Sqlite;
using ReachProbe.Cli;
using ReachProbe.History;
using ReachProbe.Verdict;

namespace ReachProbe.Benchmarks;

/// <summary>
/// A year of history for one target (the agent restarted weekly, alive every 5 s, two incidents a week, a firmware
/// change half-way): the database size and <c>report --since 12w</c>'s time, written by this build (schema 2) and by the
/// first release (schema 1: a mark row every 5 s), then that schema-1 database migrated by this build.
/// </summary>
internal static class HistoryBenchmark
{
    private static readonly DateTimeOffset Start = new(2025, 12, 1, 0, 0, 0, TimeSpan.Zero);

    public static int Run()
    {
        var dir = Directory.CreateTempSubdirectory("reachprobe-history-bench-").FullName;
        try
        {
            var until = Start.AddDays(365);
            var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(until);
            Console.WriteLine("History: one target, one year, agent restarted weekly, alive every 5 s, 2 incidents a week");

            var v2 = Path.Combine(dir, "v2.db");
            var w = Stopwatch.StartNew();
            WriteCurrent(v2);
            Console.WriteLine($"  schema 2 (this build): written in {w.Elapsed.TotalSeconds:0.0} s; {Size(v2)}; report --since 12w {Time(v2, clock)}");

            var v1 = Path.Combine(dir, "v1.db");
            w.Restart();
            var marks = WriteSchema1(v1);
            Console.WriteLine($"  schema 1 (first release): {marks:N0} mark rows; {Size(v1)}");
            w.Restart();
            using (HistoryStore.Open(v1)) { }
            var migrate = w.Elapsed;
            using (var c = new SqliteConnection($"Data Source={v1};Pooling=False")) { c.Open(); using var cmd = c.CreateCommand(); cmd.CommandText = "VACUUM"; cmd.ExecuteNonQuery(); }
            Console.WriteLine($"  schema 1 migrated by this build in {migrate.TotalSeconds:0.00} s; {Size(v1)} after VACUUM; report --since 12w {Time(v1, clock)}");
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static IEnumerable<(DateTimeOffset Start, TimeSpan Length, TargetState State)> Incidents()
    {
        for (var week = 0; week < 52; week++)
        {
            yield return (Start.AddDays(7 * week + 1).AddHours(20), TimeSpan.FromMinutes(20), TargetState.Deaf);
            yield return (Start.AddDays(7 * week + 4).AddHours(21), TimeSpan.FromMinutes(40), week % 8 == 0 ? TargetState.Down : TargetState.Deaf);
        }
    }

    private static void WriteCurrent(string path)
    {
        using var store = HistoryStore.Open(path);
        var incidents = Incidents().ToList();
        for (var week = 0; week < 52; week++)
        {
            var runStart = Start.AddDays(7 * week);
            store.Start(runStart);
            if (week == 0) store.RecordFirmware("console", "6.72", runStart);
            if (week == 26) store.RecordFirmware("console", "7.00", runStart);
            foreach (var (at, length, state) in incidents.Where(i => i.Start >= runStart && i.Start < runStart.AddDays(7)))
            {
                var id = store.OpenIncident("console", state, at, week < 26 ? "6.72" : "7.00");
                var counts = new EvidenceCounts();
                for (var s = 0; s < length.TotalSeconds; s += 5) counts.Add(new Evidence(EvidenceKind.ProbeUnanswered, at.AddSeconds(s).UtcTicks));
                store.CloseIncident(id, at + length, IncidentEnd.Recovered.Name(), counts);
            }
            // Every 5 s sign of life updates the run's one row; the last one is what stays.
            store.Alive(runStart.AddDays(7).AddSeconds(-5));
            store.Stop(runStart.AddDays(7).AddSeconds(-1));
        }
    }

    private static long WriteSchema1(string path)
    {
        using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        c.Open();
        using var tx = c.BeginTransaction();
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            CREATE TABLE incident (id INTEGER PRIMARY KEY, target TEXT NOT NULL, state TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER,
              end_reason TEXT NOT NULL DEFAULT 'open', firmware TEXT, icmp_unanswered INTEGER NOT NULL DEFAULT 0, arp_unanswered INTEGER NOT NULL DEFAULT 0,
              dns_repeated_after_answer INTEGER NOT NULL DEFAULT 0, syn_retransmitted_after_synack INTEGER NOT NULL DEFAULT 0,
              arp_repeated_after_reply INTEGER NOT NULL DEFAULT 0, gratuitous_arp INTEGER NOT NULL DEFAULT 0,
              frames_from_target INTEGER NOT NULL DEFAULT 0, source TEXT NOT NULL DEFAULT 'agent');
            CREATE INDEX incident_start ON incident(target, start);
            CREATE TABLE firmware (target TEXT NOT NULL, firmware TEXT NOT NULL, since INTEGER NOT NULL);
            CREATE TABLE mark (kind TEXT NOT NULL, at INTEGER NOT NULL);
            PRAGMA user_version = 1;
            """;
        cmd.ExecuteNonQuery();
        cmd.CommandText = $"INSERT INTO firmware VALUES ('console', '6.72', {Start.UtcTicks}), ('console', '7.00', {Start.AddDays(182).UtcTicks})";
        cmd.ExecuteNonQuery();
        cmd.CommandText = "INSERT INTO incident(target, state, start, end, end_reason, firmware, icmp_unanswered) VALUES ('console', $s, $a, $e, 'recovered', $f, $n)";
        var ps = new[] { "$s", "$a", "$e", "$f", "$n" }.Select(n => cmd.Parameters.Add(new SqliteParameter(n, null))).ToArray();
        foreach (var (at, length, state) in Incidents())
        {
            ps[0].Value = state.Name(); ps[1].Value = at.UtcTicks; ps[2].Value = (at + length).UtcTicks;
            ps[3].Value = at < Start.AddDays(182) ? "6.72" : "7.00"; ps[4].Value = (long)(length.TotalSeconds / 5);
            cmd.ExecuteNonQuery();
        }
        cmd.Parameters.Clear();
        cmd.CommandText = "INSERT INTO mark(kind, at) VALUES ($k, $t)";
        var k = cmd.Parameters.Add(new SqliteParameter("$k", null));
        var t = cmd.Parameters.Add(new SqliteParameter("$t", null));
        long rows = 0;
        for (var week = 0; week < 52; week++)
        {
            var runStart = Start.AddDays(7 * week);
            for (var s = 0; s < 7 * 86400; s += 5)
            {
                k.Value = s == 0 ? "start" : s == 7 * 86400 - 5 ? "stop" : "alive";
                t.Value = runStart.AddSeconds(s).UtcTicks;
                cmd.ExecuteNonQuery();
                rows++;
            }
        }
        tx.Commit();
        return rows;
    }

    private static string Size(string path)
    {
        long bytes = new FileInfo(path).Length + (File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0);
        return $"{bytes / 1048576.0:0.00} MB";
    }

    private static string Time(string db, TimeProvider clock)
    {
        var times = new List<double>();
        for (var i = 0; i < 7; i++)
        {
            var w = Stopwatch.StartNew();
            var code = ReportCommand.Run(["--db", db, "--since", "12w"], TextWriter.Null, Console.Error, clock);
            times.Add(w.Elapsed.TotalMilliseconds);
            if (code != 0) return $"failed (exit {code})";
        }
        times.Sort();
        return $"first {times.Max():0} ms, median {times[times.Count / 2]:0} ms, min {times[0]:0} ms (7 runs, in-process)";
    }
}
