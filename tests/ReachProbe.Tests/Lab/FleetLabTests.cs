using System.Diagnostics;
using System.Text.Json;
using ReachProbe.Tests.Config;
using Xunit.Abstractions;

namespace ReachProbe.Tests.Lab;

/// <summary>
/// Prometheus at fleet scale with no collector of ReachProbe's own (issue 22, item 6): two halls, each a lab with its
/// console, its agent and a Prometheus in agent mode (config/prometheus/fleet/agent.yml) that remote_writes to a
/// central Prometheus (central.yml's rules) in hall A — the monitors linked by a veth pair.
/// </summary>
[Trait("Category", "Lab")]
public sealed class FleetLabTests : IDisposable
{
    private const string Central = "198.19.0.1", HallB = "198.19.0.2";
    private readonly ITestOutputHelper _output;
    private readonly LabNetwork _a, _b;

    public FleetLabTests(ITestOutputHelper output)
    {
        _output = output;
        _a = Lab.Create(output);
        _b = Lab.Create(output);
    }

    public void Dispose()
    {
        foreach (var lab in new[] { _a, _b })
        {
            lock (lab.AgentLog) _output.WriteLine("agent log:\n" + lab.AgentLog);
            lab.Dispose();
        }
    }

    /// <summary>The shipped agent-mode configuration with this hall's site and the central server's address.</summary>
    private static string AgentMode(string site) => File.ReadAllText(RepoFiles.Path("config", "prometheus", "fleet", "agent.yml"))
        .Replace("site: hall-a", $"site: {site}", StringComparison.Ordinal)
        .Replace("localhost:9942", $"{LabNetwork.ProbeIp}:9942", StringComparison.Ordinal)
        .Replace("central.example:9090", $"{Central}:9090", StringComparison.Ordinal)
        .Replace("scrape_interval: 5s", "scrape_interval: 1s", StringComparison.Ordinal);

    private JsonElement Query(string expr)
    {
        var body = _a.HttpGet(Central, 9090, "/api/v1/query?query=" + Uri.EscapeDataString(expr)) ?? throw new InvalidOperationException("no answer from the central Prometheus");
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("data").GetProperty("result").Clone();
    }

    private List<(string Name, string Site, string State)> Alerts()
    {
        var body = _a.HttpGet(Central, 9090, "/api/v1/alerts") ?? "{}";
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("data").GetProperty("alerts").EnumerateArray()
            .Select(a => (a.GetProperty("labels").GetProperty("alertname").GetString()!, a.GetProperty("labels").TryGetProperty("site", out var s) ? s.GetString()! : "", a.GetProperty("state").GetString()!))
            .ToList();
    }

    [Fact]
    public void TwoHalls_AgentModeRemoteWrite_TheCentralAlertsSeeBothConsoles_BySite()
    {
        _a.LinkTo(_b, Central, HallB);
        var rules = RepoFiles.Path("config", "prometheus", "alerts.yml");
        _a.StartPrometheusWith("central", $"global:\n  evaluation_interval: 1s\nrule_files:\n  - {rules}\n", $"{Central}:9090", "--web.enable-remote-write-receiver");
        foreach (var (lab, site) in new[] { (_a, "hall-a"), (_b, "hall-b") })
        {
            lab.StartChatter();
            lab.StartAgent(["--target", LabNetwork.ConsoleIp, "--interval", "1", "--listen", $"{LabNetwork.ProbeIp}:9942"]);
            lab.StartPrometheusWith("agent", AgentMode(site), $"{LabNetwork.ProbeIp}:9091", "--enable-feature=agent");
        }
        // Both consoles, one name, told apart by their site.
        var watch = Stopwatch.StartNew();
        JsonElement up = default;
        while (watch.Elapsed < TimeSpan.FromSeconds(60))
        {
            up = Query("""reachprobe_target_state{state="up"} == 1""");
            if (up.GetArrayLength() == 2) break;
            Thread.Sleep(500);
        }
        Assert.Equal(["hall-a", "hall-b"], up.EnumerateArray().Select(r => r.GetProperty("metric").GetProperty("site").GetString()).Order());
        _output.WriteLine($"both halls' consoles up at the central Prometheus {watch.Elapsed.TotalSeconds:0.0} s after the start");

        // Hall B's console made deaf: the central deaf alert fires for hall B, and only for it.
        // The agent settles on the bridge's full view before a fault (as AgentLab.WaitForAgent waits), seen centrally too.
        watch.Restart();
        while (watch.Elapsed < TimeSpan.FromSeconds(30) && Query("""reachprobe_capture_view{site="hall-b",view="full"} == 1""").GetArrayLength() == 0) Thread.Sleep(500);
        _b.MakeDeaf();
        watch.Restart();
        while (watch.Elapsed < TimeSpan.FromSeconds(60) && !Alerts().Contains(("ReachProbeTargetDeaf", "hall-b", "firing"))) Thread.Sleep(500);
        var alerts = Alerts();
        _output.WriteLine($"the central deaf alert for hall B firing {watch.Elapsed.TotalSeconds:0.0} s after the fault (agent-mode scrape 1 s, for: 10s)");
        Assert.Contains(("ReachProbeTargetDeaf", "hall-b", "firing"), alerts);
        Assert.DoesNotContain(alerts, a => a.Site == "hall-a" && a.Name is "ReachProbeTargetDeaf" or "ReachProbeTargetDown");
        Assert.Equal(["hall-a", "hall-b"], Query("""up{job="reachprobe"} == 1""").EnumerateArray().Select(r => r.GetProperty("metric").GetProperty("site").GetString()).Order());
    }
}
