using ReachProbe.History;

namespace ReachProbe.Tests.History;

/// <summary>A small fleet's history in a new PostgreSQL database, for the fleet report's and the history dashboard's tests.</summary>
internal static class FleetHistory
{
    /// <summary>When the history starts: a Monday.</summary>
    public static readonly DateTimeOffset T0 = new(2026, 11, 2, 12, 0, 0, TimeSpan.Zero);

    /// <summary>When both agents stopped, two weeks later.</summary>
    public static readonly DateTimeOffset Now = T0.AddDays(14);

    /// <summary>
    /// Hall A (agent pi-a) watches three PS5s: ps5-1 on 9.00 (deaf 4 and 6 minutes), ps5-2 on 9.03 (down 10 minutes) and
    /// ps5-3 on 9.03, which hall B's agent (pi-b) watches too — one MAC: its one deaf spell of 8 minutes is in both
    /// agents' histories. Returns the database's URI.
    /// </summary>
    public static string Seed(PostgresFixture postgres)
    {
        var name = postgres.NewDatabase() ?? throw new SkipException(postgres.Unavailable!);
        var uri = postgres.Cluster!.Uri(name);
        using var a = HistoryStore.Open(uri, new HistoryAgent("pi-a", "hall-a"));
        using var b = HistoryStore.Open(uri, new HistoryAgent("pi-b", "hall-b"));
        foreach (var s in new[] { a, b }) s.Start(T0);
        var ps5 = new Dictionary<string, string> { ["model"] = "PS5" };
        a.Watch([("ps5-1", "198.18.0.21", "02:00:00:00:00:21"), ("ps5-2", "198.18.0.22", "02:00:00:00:00:22"), ("ps5-3", "198.18.1.23", "02:00:00:00:00:23")], T0, [ps5, ps5, ps5]);
        b.Watch([("ps5-3", "198.18.1.23", "02:00:00:00:00:23")], T0, [ps5]);
        a.RecordFirmware("ps5-1", "9.00", T0);
        a.RecordFirmware("ps5-2", "9.03", T0);
        b.RecordFirmware("ps5-3", "9.03", T0);
        Incident(a, "ps5-1", TargetState.Deaf, 10, 4, "9.00");
        Incident(a, "ps5-1", TargetState.Deaf, 30, 6, "9.00");
        Incident(a, "ps5-2", TargetState.Down, 50, 10, "9.03");
        // ps5-3's deaf spell, seen by both monitors: one incident for the console, one for each site.
        Incident(b, "ps5-3", TargetState.Deaf, 70, 8, "9.03");
        Incident(a, "ps5-3", TargetState.Deaf, 70, 8, "9.03");
        foreach (var s in new[] { a, b }) s.Stop(Now);
        return uri;
    }

    /// <summary>An incident <paramref name="startHours"/> after <see cref="T0"/> that recovered <paramref name="minutes"/> later.</summary>
    public static void Incident(HistoryStore s, string target, TargetState state, double startHours, double minutes, string firmware) =>
        s.CloseIncident(s.OpenIncident(target, state, T0.AddHours(startHours), firmware), T0.AddHours(startHours).AddMinutes(minutes), "recovered", new EvidenceCounts());
}
