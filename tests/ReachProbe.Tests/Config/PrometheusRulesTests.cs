namespace ReachProbe.Tests.Config;

/// <summary>The shipped Prometheus files, through promtool: syntax, and a unit test per alert (config/prometheus/alerts_test.yml).</summary>
public class PrometheusRulesTests
{
    private static readonly string Dir = RepoFiles.Path("config", "prometheus");

    [Fact]
    public void Alerts_PassPromtoolCheck()
    {
        var (code, output) = RepoFiles.Run(RepoFiles.Promtool, Dir, "check", "rules", "alerts.yml");
        Assert.True(code == 0, output);
        Assert.Contains("SUCCESS: 9 rules found", output);
    }

    [Fact]
    public void Alerts_PassTheirUnitTests()
    {
        var (code, output) = RepoFiles.Run(RepoFiles.Promtool, Dir, "test", "rules", "alerts_test.yml");
        Assert.True(code == 0, output);
    }

    [Fact]
    public void ExampleConfig_PassesPromtoolCheck()
    {
        var (code, output) = RepoFiles.Run(RepoFiles.Promtool, Dir, "check", "config", "prometheus.yml");
        Assert.True(code == 0, output);
    }

    [Fact]
    public void FleetConfigs_PassPromtoolCheck()
    {
        var fleet = Path.Combine(Dir, "fleet");
        var (code, output) = RepoFiles.Run(RepoFiles.Promtool, fleet, "check", "config", "central.yml");
        Assert.True(code == 0, output);
        Assert.Contains("SUCCESS: 9 rules found", output); // the same alerts, for every site
        (code, output) = RepoFiles.Run(RepoFiles.Promtool, fleet, "check", "config", "--agent", "agent.yml");
        Assert.True(code == 0, output);
    }

    [Fact]
    public void UnitTests_CoverEveryAlert()
    {
        var alerts = File.ReadAllLines(Path.Combine(Dir, "alerts.yml")).Select(l => l.Trim()).Where(l => l.StartsWith("- alert: ")).Select(l => l[9..]).ToList();
        var tests = File.ReadAllText(Path.Combine(Dir, "alerts_test.yml"));
        Assert.Equal(9, alerts.Count);
        Assert.All(alerts, a => Assert.Contains($"alertname: {a}", tests));
    }
}
