using System.Diagnostics;
using Microsoft.Data.Sqlite;
using ReachProbe.History;
using Xunit.Abstractions;

namespace ReachProbe.Tests.Lab;

/// <summary>The agent's incident history in the lab: recorded, cut short by kill -9 and recovered at restart; a corrupt or locked database does not stop monitoring.</summary>
[Trait("Category", "Lab")]
public sealed class HistoryLabTests(ITestOutputHelper output) : AgentLab(output)
{
    private void WaitFor(string want) => WaitFor(want, TimeSpan.FromSeconds(30));

    [Fact]
    public void History_RecordsIncidents_AndKill9CutsTheOpenOneShortAtTheLastSignOfLife()
    {
        var agent = LabNet.StartAgent(Agent);
        WaitForAgent();
        Thread.Sleep(1500); // the console's discovery answer brings its firmware
        LabNet.MakeDeaf();
        WaitFor("deaf");
        LabNet.Heal();
        LabNet.GratuitousArp();
        WaitFor("up");
        Assert.Matches("""reachprobe_incidents_total\{target="198\.18\.0\.27",state="deaf",firmware="7\.02"\} 1""", LabNet.HttpGet(LabNetwork.ProbeIp, Port, "/metrics")!);

        LabNet.MakeDeaf();
        WaitFor("deaf");
        Thread.Sleep(7000); // at least one sign of life after the incident opened
        agent.Kill(); // SIGKILL: no clean stop
        var killed = DateTimeOffset.UtcNow;
        agent.WaitForExit();
        LabNet.Heal();

        LabNet.StartAgent(Agent);
        WaitForAgent();
        using var store = HistoryStore.Open(LabNet.HistoryPath);
        var incidents = store.Incidents(DateTimeOffset.UnixEpoch);
        Assert.Equal(2, incidents.Count);
        Assert.Equal(("deaf", "recovered", "7.02"), (incidents[0].State, incidents[0].EndReason, incidents[0].Firmware));
        Assert.Equal(("deaf", "cut_short"), (incidents[1].State, incidents[1].EndReason));
        Assert.InRange(incidents[1].End!.Value, killed - TimeSpan.FromSeconds(6), killed);
        Assert.Equal("7.02", Assert.Single(store.Firmware("198.18.0.27")).Firmware);

        // And the report over the real agent's database.
        var (code, report, _) = LabNet.Reachprobe("report", "--db", LabNet.HistoryPath, "--since", "1d");
        Assert.Equal(0, code);
        var row = report.Split('\n').Single(l => l.StartsWith("7.02 ", StringComparison.Ordinal));
        Assert.Matches(@"^7\.02\s+\d+s\s+2\s+0\s", row);
    }

    [Fact]
    public void History_CorruptDatabase_IsReportedAndMonitoringGoesOn()
    {
        File.WriteAllText(LabNet.HistoryPath, new string('x', 8192));
        LabNet.StartAgent(Agent);
        WaitForAgent();
        // One clear line (the console logger writes on its own thread: give it a moment), and monitoring goes on.
        var expected = "the incident history cannot be written: " + LabNet.HistoryPath + ": not a ReachProbe history database, or corrupt";
        var watch = Stopwatch.StartNew();
        bool Logged()
        {
            lock (LabNet.AgentLog) return LabNet.AgentLog.ToString().Contains(expected, StringComparison.Ordinal);
        }
        while (!Logged() && watch.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(100);
        Assert.True(Logged(), $"not logged: {expected}");
    }

    [Fact]
    public void History_LockedDatabase_IsReportedAndMonitoringGoesOn()
    {
        using (HistoryStore.Open(LabNet.HistoryPath)) { }
        using var holder = new SqliteConnection($"Data Source={LabNet.HistoryPath};Pooling=False");
        holder.Open();
        using (var cmd = holder.CreateCommand())
        {
            cmd.CommandText = "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;";
            cmd.ExecuteNonQuery();
        }
        LabNet.StartAgent(Agent);
        WaitForAgent();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            lock (LabNet.AgentLog) if (LabNet.AgentLog.ToString().Contains("the history database is locked by another program")) return;
            Thread.Sleep(250);
        }
        lock (LabNet.AgentLog) Assert.Fail("no clear 'locked' error in the agent's log:\n" + LabNet.AgentLog);
    }
}
