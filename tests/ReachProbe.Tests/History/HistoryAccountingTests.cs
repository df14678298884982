using ReachProbe.History;
using ReachProbe.Verdict;

namespace ReachProbe.Tests.History;

/// <summary>
/// Observed time is each target's own, and a target is one history across renames and new addresses: the cases a
/// user met (a row at deaf 59.6 % + down 51.8 %, a deaf share of 5,617 %), through the real store.
/// </summary>
public sealed class HistoryAccountingTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("reachprobe-accounting-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private HistoryStore Store() => HistoryStore.Open(Path.Combine(_dir, "history.db"));

    private static void Incident(HistoryStore s, string target, TargetState state, DateTimeOffset start, DateTimeOffset end, string? firmware) =>
        s.CloseIncident(s.OpenIncident(target, state, start, firmware), end, "recovered", new EvidenceCounts());

    private static List<ReportRow> ByFirmware(HistoryStore s, DateTimeOffset until) =>
        HistoryReport.ByFirmware(s.Incidents(T0.AddDays(-1)), s.Firmware(), s.Watched(), T0.AddDays(-1), until);

    [Fact]
    public void ARunThatWatchedOneConsole_IsNotCreditedToAnother_NoRowPasses100Percent()
    {
        using var s = Store();
        // Run 1: only console A (firmware 7.02), an hour.
        s.Start(T0);
        s.Watch("a", "198.18.0.27", null, T0);
        s.RecordFirmware("a", "7.02", T0);
        s.Stop(T0.AddMinutes(60));
        // Run 2: only console B (firmware 9.00), ten minutes: deaf six of them, then down four.
        s.Start(T0.AddMinutes(60));
        s.Watch("b", "198.18.0.28", null, T0.AddMinutes(60));
        s.RecordFirmware("b", "9.00", T0.AddMinutes(60));
        Incident(s, "b", TargetState.Deaf, T0.AddMinutes(60), T0.AddMinutes(66), "9.00");
        Incident(s, "b", TargetState.Down, T0.AddMinutes(66), T0.AddMinutes(70), "9.00");
        s.Stop(T0.AddMinutes(70));

        var rows = ByFirmware(s, T0.AddMinutes(70));
        Assert.Equal(["7.02", "9.00"], rows.Select(r => r.Key));
        Assert.Equal(TimeSpan.FromMinutes(60).TotalSeconds, TimeSpan.FromDays(rows[0].DaysObserved).TotalSeconds, 3);
        Assert.Equal(0, rows[0].ShareDeaf + rows[0].ShareDown);
        Assert.Equal(TimeSpan.FromMinutes(10).TotalSeconds, TimeSpan.FromDays(rows[1].DaysObserved).TotalSeconds, 3);
        Assert.Equal(0.6, rows[1].ShareDeaf, 9);
        Assert.Equal(0.4, rows[1].ShareDown, 9);
        Assert.All(rows, r => Assert.InRange(r.ShareDeaf + r.ShareDown + r.ShareUnresponsive, 0, 1 + 1e-9));
    }

    [Fact]
    public void ARenamedTarget_KeepsOneHistory_ItsShareIsOfItsOwnTime()
    {
        using var s = Store();
        // Named "console" for 20 s, then the same console unnamed (its address) for 35 s with a 15 s deaf incident.
        s.Start(T0);
        s.Watch("console", "198.18.0.27", null, T0);
        s.Stop(T0.AddSeconds(20));
        s.Start(T0.AddSeconds(20));
        s.Watch("198.18.0.27", "198.18.0.27", null, T0.AddSeconds(20));
        Incident(s, "198.18.0.27", TargetState.Deaf, T0.AddSeconds(30), T0.AddSeconds(45), null);
        s.Stop(T0.AddSeconds(55));

        var target = Assert.Single(s.Targets());
        Assert.Equal(("198.18.0.27", "198.18.0.27"), (target.Name, target.Ip));
        var row = Assert.Single(ByFirmware(s, T0.AddSeconds(55)));
        Assert.Equal(TimeSpan.FromSeconds(55).TotalSeconds, TimeSpan.FromDays(row.DaysObserved).TotalSeconds, 3);
        Assert.Equal(15.0 / 55, row.ShareDeaf, 9);
        // Asked for by its old name, its new name or its address, it is the same target.
        Assert.Single(s.Incidents(T0, "198.18.0.27"));
        Assert.Equal(2, s.Watched("198.18.0.27").Count);
    }

    [Fact]
    public void AConsoleThatDhcpMoved_IsOneTargetOnceItsMacIsKnown()
    {
        using var s = Store();
        s.Start(T0);
        s.Watch("console", "198.18.0.27", "02:00:00:00:00:27", T0);
        Incident(s, "console", TargetState.Deaf, T0.AddMinutes(1), T0.AddMinutes(2), "7.02");
        s.Stop(T0.AddMinutes(5));
        // Next day it is at another address, under another name; its MAC is learned a moment after the start.
        s.Start(T0.AddDays(1));
        s.Watch("living-room", "198.18.0.40", null, T0.AddDays(1));
        Assert.Equal(2, s.Targets().Count);
        s.Target("living-room", "198.18.0.40", "02:00:00:00:00:27");
        Incident(s, "living-room", TargetState.Down, T0.AddDays(1).AddMinutes(1), T0.AddDays(1).AddMinutes(3), "7.02");
        s.Stop(T0.AddDays(1).AddMinutes(5));

        var target = Assert.Single(s.Targets());
        Assert.Equal(("living-room", "198.18.0.40", "02:00:00:00:00:27"), (target.Name, target.Ip, target.Mac));
        Assert.Equal(2, s.Incidents(T0).Count(i => i.TargetId == target.Id));
        Assert.Equal(2, s.Watched().Count(w => w.Target == target.Id));
        // By its MAC too.
        Assert.Equal(2, s.Incidents(T0, "02:00:00:00:00:27").Count);
        var row = Assert.Single(ByFirmware(s, T0.AddDays(2)), r => r.Key == "7.02");
        Assert.Equal(1, row.Deaf);
        Assert.Equal(1, row.Down);
    }

    [Fact]
    public void AReloadThatRemovesATarget_EndsItsWatchedTime_TheOthersGoOn()
    {
        using var s = Store();
        s.Start(T0);
        s.Watch("a", "198.18.0.27", null, T0);
        s.Watch("b", "198.18.0.28", null, T0);
        s.Unwatch("b", T0.AddMinutes(10));
        s.Alive(T0.AddMinutes(30)); // then the agent is killed
        using var again = Store();
        again.Start(T0.AddHours(1)); // the crash's watches end at the last sign of life
        var byTarget = again.Watched().GroupBy(w => w.Target).ToDictionary(g => again.Targets().Single(t => t.Id == g.Key).Name, g => g.Sum(w => (w.End - w.Start).TotalMinutes));
        Assert.Equal(30, byTarget["a"], 6);
        Assert.Equal(10, byTarget["b"], 6);
    }
}
