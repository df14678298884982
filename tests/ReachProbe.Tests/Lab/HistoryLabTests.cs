using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using ReachProbe.History;
using Xunit.Abstractions;

namespace ReachProbe.Tests.Lab;

/// <summary>The agent's incident history in the lab: recorded, cut short by kill -9 and recovered at restart; a corrupt or locked database does not stop monitoring.</summary>
[Trait("Category", "Lab")]
public sealed partial class HistoryLabTests : IDisposable
{
    private const int Port = 9942;
    private readonly ITestOutputHelper _output;
    private readonly LabNetwork _lab;

    public HistoryLabTests(ITestOutputHelper output)
    {
        _output = output;
        _lab = Lab.Create(output);
        _lab.StartChatter();
    }

    public void Dispose()
    {
        lock (_lab.AgentLog) _output.WriteLine("agent log:\n" + _lab.AgentLog);
        _lab.Dispose();
    }

    private static readonly string[] Agent = ["--target", LabNetwork.ConsoleIp, "--interval", "1", "--listen", $"{LabNetwork.ProbeIp}:{Port}"];

    private string? State()
    {
        var m = _lab.HttpGet(LabNetwork.ProbeIp, Port, "/metrics");
        return m is null ? null : StateLine().Match(m) is { Success: true } s ? s.Groups[1].Value : null;
    }

    private void WaitFor(string want)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (State() == want) return;
            Thread.Sleep(200);
        }
        Assert.Fail($"state was not '{want}' within 30 s");
    }

    [GeneratedRegex("""^reachprobe_target_state\{target="198\.18\.0\.27",state="(\w+)"\} 1$""", RegexOptions.Multiline)]
    private static partial Regex StateLine();

    [Fact]
    public void History_RecordsIncidents_AndKill9CutsTheOpenOneShortAtTheLastSignOfLife()
    {
        var agent = _lab.StartAgent(Agent);
        WaitFor("up");
        Thread.Sleep(1500); // the console's discovery answer brings its firmware
        _lab.MakeDeaf();
        WaitFor("deaf");
        _lab.Heal();
        _lab.GratuitousArp();
        WaitFor("up");
        Assert.Matches("""reachprobe_incidents_total\{target="198\.18\.0\.27",state="deaf",firmware="7\.02"\} 1""", _lab.HttpGet(LabNetwork.ProbeIp, Port, "/metrics")!);

        _lab.MakeDeaf();
        WaitFor("deaf");
        Thread.Sleep(7000); // at least one sign of life after the incident opened
        agent.Kill(); // SIGKILL: no clean stop
        var killed = DateTimeOffset.UtcNow;
        agent.WaitForExit();
        _lab.Heal();

        _lab.StartAgent(Agent);
        WaitFor("up");
        using var store = HistoryStore.Open(_lab.HistoryPath);
        var incidents = store.Incidents(DateTimeOffset.UnixEpoch);
        Assert.Equal(2, incidents.Count);
        Assert.Equal(("deaf", "recovered", "7.02"), (incidents[0].State, incidents[0].EndReason, incidents[0].Firmware));
        Assert.Equal(("deaf", "cut_short"), (incidents[1].State, incidents[1].EndReason));
        Assert.InRange(incidents[1].End!.Value, killed - TimeSpan.FromSeconds(6), killed);
        Assert.Equal("7.02", Assert.Single(store.Firmware("198.18.0.27")).Firmware);

        // And the report over the real agent's database.
        var (code, report, _) = _lab.Reachprobe("report", "--db", _lab.HistoryPath, "--since", "1d");
        Assert.Equal(0, code);
        var row = report.Split('\n').Single(l => l.StartsWith("7.02 ", StringComparison.Ordinal));
        Assert.Matches(@"^7\.02\s+0\.0\s+2\s+0\s", row);
    }

    [Fact]
    public void History_CorruptDatabase_IsReportedAndMonitoringGoesOn()
    {
        File.WriteAllText(_lab.HistoryPath, new string('x', 8192));
        _lab.StartAgent(Agent);
        WaitFor("up");
        lock (_lab.AgentLog) Assert.Contains("no incident history: " + _lab.HistoryPath + ": not a ReachProbe history database, or corrupt", _lab.AgentLog.ToString());
    }

    [Fact]
    public void History_LockedDatabase_IsReportedAndMonitoringGoesOn()
    {
        using (HistoryStore.Open(_lab.HistoryPath)) { }
        using var holder = new SqliteConnection($"Data Source={_lab.HistoryPath};Pooling=False");
        holder.Open();
        using (var cmd = holder.CreateCommand())
        {
            cmd.CommandText = "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;";
            cmd.ExecuteNonQuery();
        }
        _lab.StartAgent(Agent);
        WaitFor("up");
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            lock (_lab.AgentLog) if (_lab.AgentLog.ToString().Contains("the history database is locked by another program")) return;
            Thread.Sleep(250);
        }
        lock (_lab.AgentLog) Assert.Fail("no clear 'locked' error in the agent's log:\n" + _lab.AgentLog);
    }
}
