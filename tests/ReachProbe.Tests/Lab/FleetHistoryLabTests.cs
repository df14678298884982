using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using ReachProbe.Testing;
using Xunit.Abstractions;

namespace ReachProbe.Tests.Lab;

/// <summary>
/// Many monitors, one history (issue 22): three halls, each a lab with its console (firmware of its own) and its
/// agent, all writing to one real PostgreSQL (a throwaway cluster whose socket every namespace reaches). Consoles go
/// deaf and down; the database is stopped during an open incident and started again a minute later; the fleet report
/// then shows every incident of every agent exactly once, with its firmware and site.
/// </summary>
[Trait("Category", "Lab")]
public sealed partial class FleetHistoryLabTests : IDisposable
{
    private static readonly (string Site, string Version, string Firmware)[] Halls =
        [("hall-a", "07020001", "7.02"), ("hall-b", "09000000", "9.00"), ("hall-c", "09030000", "9.03")];

    private readonly ITestOutputHelper _output;
    private readonly List<LabNetwork> _labs = [];
    private readonly PostgresCluster _pg;
    private readonly string _dir = Directory.CreateTempSubdirectory("reachprobe-fleet-").FullName;

    public FleetHistoryLabTests(ITestOutputHelper output)
    {
        _output = output;
        foreach (var _ in Halls) _labs.Add(Lab.Create(output));
        _pg = OperatingSystem.IsLinux() ? PostgresCluster.Start(port: 5436) : throw new PlatformNotSupportedException("the lab runs on Linux");
    }

    public void Dispose()
    {
        foreach (var lab in _labs)
        {
            lock (lab.AgentLog) _output.WriteLine("agent log:\n" + lab.AgentLog);
            lab.Dispose();
        }
        _pg.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static void Terminate(Process agent)
    {
        Process.Start("kill", ["-TERM", agent.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        Assert.True(agent.WaitForExit(30_000), "an agent did not stop on SIGTERM");
    }

    /// <summary>The agent's reachprobe_history_up and _writes_pending.</summary>
    private static (double Up, double Pending)? History(LabNetwork lab)
    {
        if (AgentState.Metrics(lab) is not { } m) return null;
        var up = HistoryUp().Match(m);
        var pending = HistoryPending().Match(m);
        return up.Success && pending.Success ? (double.Parse(up.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(pending.Groups[1].Value, CultureInfo.InvariantCulture)) : null;
    }

    [Fact]
    public void ThreeAgents_OneDatabase_StoppedForAMinute_EveryIncidentOnce_WithFirmwareAndSite()
    {
        var uri = _pg.CreateDatabase("fleet");
        var agents = new List<Process>();
        for (var i = 0; i < Halls.Length; i++)
        {
            var (lab, site) = (_labs[i], Halls[i].Site);
            lab.SystemVersion = Halls[i].Version;
            lab.SetConsoleMac($"02:00:00:00:0{i + 1}:27"); // three consoles, not one seen from three places
            lab.StartChatter();
            var config = Path.Combine(_dir, $"{site}.json");
            File.WriteAllText(config, $$"""{ "agent": { "name": "pi-{{site}}", "site": "{{site}}" } }""");
            agents.Add(lab.StartAgent(["--config", config, "--history", uri, "--target", LabNetwork.ConsoleIp, "--interval", "1", "--listen", $"{LabNetwork.ProbeIp}:9942"]));
        }
        foreach (var lab in _labs) AgentState.WaitForSettled(lab, TimeSpan.FromSeconds(60));
        Thread.Sleep(2000); // each console's discovery answer brings its firmware
        var (a, b, c) = (_labs[0], _labs[1], _labs[2]);

        // Hall A's console deaf, hall B's down, at once; both recover.
        a.MakeDeaf();
        b.LinkDown();
        AgentState.WaitFor(a, "deaf", TimeSpan.FromSeconds(30));
        AgentState.WaitFor(b, "down", TimeSpan.FromSeconds(30));
        a.Heal();
        a.GratuitousArp();
        b.LinkUp();
        AgentState.WaitFor(a, "up", TimeSpan.FromSeconds(30));
        AgentState.WaitFor(b, "up", TimeSpan.FromSeconds(30));

        // Hall C's console deaf; the database stops during its open incident.
        c.MakeDeaf();
        AgentState.WaitFor(c, "deaf", TimeSpan.FromSeconds(30));
        _pg.Stop();
        var stopped = Stopwatch.StartNew();
        // Monitoring goes on and says the history waits: C recovers, A goes deaf and recovers, all while it is away.
        var watch = Stopwatch.StartNew();
        while (History(c) is not (0, > 0) && watch.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(250);
        Assert.Equal(0, History(c)?.Up);
        c.Heal();
        c.GratuitousArp();
        AgentState.WaitFor(c, "up", TimeSpan.FromSeconds(30));
        a.MakeDeaf();
        AgentState.WaitFor(a, "deaf", TimeSpan.FromSeconds(30));
        a.Heal();
        a.GratuitousArp();
        AgentState.WaitFor(a, "up", TimeSpan.FromSeconds(30));
        // Every agent has noticed by its next sign of life (every 5 s): one that wrote its last just before the stop
        // says so up to 5 s later (a CI run caught hall B at "up 1, pending 0" a moment too soon).
        watch.Restart();
        while (!_labs.All(l => History(l) is (0, _)) && watch.Elapsed < TimeSpan.FromSeconds(15)) Thread.Sleep(250);
        _output.WriteLine($"while the database was away: {string.Join("; ", _labs.Select(l => $"history up {History(l)?.Up}, pending {History(l)?.Pending}"))}");
        Assert.All(_labs, l => Assert.Equal(0, History(l)?.Up));
        if (stopped.Elapsed < TimeSpan.FromMinutes(1)) Thread.Sleep(TimeSpan.FromMinutes(1) - stopped.Elapsed);
        _pg.StartServer();
        _output.WriteLine($"the database was away {stopped.Elapsed.TotalSeconds:0} s");

        // Each agent writes what it kept once the database is back (its backoff reaches one minute at most).
        watch.Restart();
        while (!_labs.All(l => History(l) is (1, 0)) && watch.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(500);
        Assert.All(_labs, l => Assert.Equal((1.0, 0.0), History(l)));
        _output.WriteLine($"every agent's kept writes written {watch.Elapsed.TotalSeconds:0.0} s after the database came back");
        foreach (var agent in agents) Terminate(agent);

        // The fleet report: every incident of every agent exactly once, with its firmware and site.
        var (code, json, err) = a.Reachprobe("report", "--db", uri, "--since", "1d", "--incidents", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(json);
        var incidents = doc.RootElement.GetProperty("incidents").EnumerateArray()
            .Select(i => (Site: i.GetProperty("site").GetString(), Agent: i.GetProperty("agent").GetString(), State: i.GetProperty("state").GetString(),
                Firmware: i.GetProperty("firmware").GetString(), Ended: i.GetProperty("ended").GetString(), Start: i.GetProperty("start").GetString()))
            .ToList();
        foreach (var i in incidents) _output.WriteLine(i.ToString());
        Assert.Equal(incidents.Count, incidents.Select(i => (i.Agent, i.Start, i.State)).Distinct().Count());
        Assert.All(incidents, i => Assert.Equal("recovered", i.Ended));
        Assert.All(incidents, i => Assert.Equal($"pi-{i.Site}", i.Agent));
        Assert.All(incidents, i => Assert.Equal(Halls.Single(h => h.Site == i.Site).Firmware, i.Firmware));
        // Hall A: deaf twice (once while the database was away); hall B: down once; hall C: deaf once (open when it went away).
        Assert.Equal(["deaf", "deaf"], incidents.Where(i => i.Site == "hall-a").Select(i => i.State));
        Assert.Contains("down", incidents.Where(i => i.Site == "hall-b").Select(i => i.State));
        Assert.DoesNotContain("deaf", incidents.Where(i => i.Site == "hall-b").Select(i => i.State));
        Assert.Equal(["deaf"], incidents.Where(i => i.Site == "hall-c").Select(i => i.State));

        // Per site and firmware, the table agrees: one agent and one console each.
        (code, var table, err) = a.Reachprobe("report", "--db", uri, "--since", "1d", "--by", "site,firmware", "--json");
        Assert.True(code == 0, err);
        using var rows = JsonDocument.Parse(table);
        _output.WriteLine(table);
        // (Each console's first seconds, before its discovery answer named its firmware, are watched time of "unknown" firmware, with no incident.)
        var keys = rows.RootElement.GetProperty("rows").EnumerateArray()
            .Where(r => r.GetProperty("deaf").GetInt32() + r.GetProperty("down").GetInt32() + r.GetProperty("unresponsive").GetInt32() > 0)
            .Select(r => (r.GetProperty("key").GetString(), r.GetProperty("agents").GetInt32(), r.GetProperty("consoles").GetInt32(), r.GetProperty("deaf").GetInt32())).ToList();
        Assert.Equal([("hall-a / 7.02", 1, 1, 2), ("hall-b / 9.00", 1, 1, 0), ("hall-c / 9.03", 1, 1, 1)], keys);
        // Every agent's run was stopped cleanly, once.
        Assert.Equal("3|3", _pg.Psql("fleet", "SELECT count(*) || '|' || count(stop) FROM run").Trim());
    }

    [GeneratedRegex("""^reachprobe_history_up (\S+)$""", RegexOptions.Multiline)]
    private static partial Regex HistoryUp();

    [GeneratedRegex("""^reachprobe_history_writes_pending (\S+)$""", RegexOptions.Multiline)]
    private static partial Regex HistoryPending();
}
