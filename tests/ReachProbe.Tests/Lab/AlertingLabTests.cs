using System.Diagnostics;
using System.Text.Json;
using ReachProbe.Tests.Config;
using Xunit.Abstractions;

namespace ReachProbe.Tests.Lab;

/// <summary>
/// End to end: the real agent and a real Prometheus (Debian's package) with the repository's alert rules, in the lab.
/// Deaf fires the deaf alert within its bound; down fires the down alert and never the deaf one; every dashboard
/// expression parses and returns data.
/// </summary>
[Trait("Category", "Lab")]
public sealed class AlertingLabTests : IDisposable
{
    private const int AgentPort = 9942;
    private static readonly TimeSpan AlertBound = TimeSpan.FromSeconds(25); // agent ≤ 3 s + "for: 10s" + scrape and evaluation
    private readonly ITestOutputHelper _output;
    private readonly LabNetwork _lab;

    public AlertingLabTests(ITestOutputHelper output)
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

    private JsonElement Api(string path)
    {
        var body = _lab.HttpGet(LabNetwork.ProbeIp, 9090, path) ?? throw new InvalidOperationException($"no answer from Prometheus for {path}");
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.Clone();
    }

    private JsonElement Query(string expr) => Api("/api/v1/query?query=" + Uri.EscapeDataString(expr));

    private List<(string Name, string State)> Alerts() =>
        Api("/api/v1/alerts").GetProperty("data").GetProperty("alerts").EnumerateArray()
            .Select(a => (a.GetProperty("labels").GetProperty("alertname").GetString()!, a.GetProperty("state").GetString()!)).ToList();

    private TimeSpan WaitForAlert(string name, Action<List<(string Name, string State)>>? everyPoll = null)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(60))
        {
            var alerts = Alerts();
            everyPoll?.Invoke(alerts);
            if (alerts.Contains((name, "firing"))) return watch.Elapsed;
            Thread.Sleep(500);
        }
        Assert.Fail($"{name} did not fire within 60 s");
        return TimeSpan.Zero;
    }

    private void WaitForState(string state)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            var r = Query($"reachprobe_target_state{{state=\"{state}\"}} == 1").GetProperty("data").GetProperty("result");
            if (r.GetArrayLength() > 0) return;
            Thread.Sleep(250);
        }
        Assert.Fail($"Prometheus did not see state {state} within 30 s");
    }

    [Fact]
    public void Prometheus_DeafAndDownAlerts_AndEveryDashboardQuery()
    {
        _lab.StartAgent(["--target", LabNetwork.ConsoleIp, "--interval", "1", "--listen", $"{LabNetwork.ProbeIp}:{AgentPort}"]);
        _lab.StartPrometheus($"{LabNetwork.ProbeIp}:{AgentPort}", [RepoFiles.Path("config", "prometheus", "alerts.yml")]);
        WaitForState("up");

        _lab.MakeDeaf();
        var deaf = WaitForAlert("ReachProbeTargetDeaf", alerts => Assert.DoesNotContain(alerts, a => a.Name == "ReachProbeTargetDown"));
        _output.WriteLine($"deaf alert firing {deaf.TotalSeconds:0.0} s after the fault");
        Assert.True(deaf <= AlertBound, $"deaf alert took {deaf}");

        _lab.Heal();
        _lab.GratuitousArp();
        WaitForState("up");
        var watch = Stopwatch.StartNew();
        while (Alerts().Any(a => a.Name == "ReachProbeTargetDeaf") && watch.Elapsed < TimeSpan.FromSeconds(15)) Thread.Sleep(250);

        _lab.LinkDown();
        var down = WaitForAlert("ReachProbeTargetDown", alerts => Assert.DoesNotContain(alerts, a => a.Name == "ReachProbeTargetDeaf"));
        _output.WriteLine($"down alert firing {down.TotalSeconds:0.0} s after the fault");
        Assert.True(down <= AlertBound, $"down alert took {down}");
        // Still never deaf while it stays down.
        for (var i = 0; i < 10; i++)
        {
            Assert.DoesNotContain(Alerts(), a => a.Name == "ReachProbeTargetDeaf");
            Thread.Sleep(500);
        }

        // The state timeline's value for the console is down's (3): one state series a target, the others absent.
        var timeline = DashboardTests.Expressions().Single(e => e.Panel == "State per target").Expr;
        var series = Query(timeline).GetProperty("data").GetProperty("result").EnumerateArray()
            .ToDictionary(r => r.GetProperty("metric").GetProperty("target").GetString()!, r => r.GetProperty("value")[1].GetString());
        Assert.Equal("3", series[LabNetwork.ConsoleIp]);

        // Every query of the dashboard against the real Prometheus, asked as Grafana asks it (an instant table for the bar
        // chart, a range for the rest), and its answer in the shape the panel needs: the result type, data, and on every
        // series each label the legend (or the annotation's title) names.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (var (panel, type, expr, instant, labels) in DashboardTests.Queries())
        {
            var r = instant ? Query(expr) : Api($"/api/v1/query_range?query={Uri.EscapeDataString(expr)}&start={now - 300}&end={now}&step=5");
            Assert.True(r.GetProperty("status").GetString() == "success", $"panel '{panel}': {expr}: {r}");
            var data = r.GetProperty("data");
            Assert.Equal(instant ? "vector" : "matrix", data.GetProperty("resultType").GetString());
            var result = data.GetProperty("result").EnumerateArray().ToList();
            Assert.True(result.Count > 0, $"panel '{panel}' returned no data: {expr}");
            foreach (var one in result)
                foreach (var label in labels)
                    Assert.True(one.GetProperty("metric").TryGetProperty(label, out _), $"panel '{panel}' ({type}) names {{{{{label}}}}} but its series has no such label: {one.GetProperty("metric")}");
            if (type == "state-timeline")
                foreach (var one in result)
                    foreach (var point in one.GetProperty("values").EnumerateArray())
                        Assert.Contains(point[1].GetString(), new[] { "0", "1", "2", "3", "4" });
        }
    }
}
