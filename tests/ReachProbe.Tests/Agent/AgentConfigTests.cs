using ReachProbe.Agent;

namespace ReachProbe.Tests.Agent;

/// <summary>Each invalid file in configs/ is paired with its exact error text (blackbox_exporter's config/testdata habit).</summary>
public class AgentConfigTests
{
    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Agent", "configs");

    public static TheoryData<string> InvalidFiles => new(Directory.GetFiles(Dir, "invalid-*.json").Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(InvalidFiles))]
    public void Load_InvalidFile_ListsEveryProblemWithItsPath(string file)
    {
        var path = Path.Combine(Dir, file);
        var e = Assert.Throws<ConfigException>(() => AgentConfig.Load(path));
        var expected = File.ReadAllLines(path + ".err").Select(l => $"{path}: {l}");
        Assert.Equal(expected, e.Problems);
    }

    [Fact]
    public void Load_ShippedExample_HasTheDocumentedDefaults()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "ReachProbe.sln"))) root = Path.GetDirectoryName(root)!;
        var config = AgentConfig.Load(Path.Combine(root, "config", "reachprobe.json"));
        var defaults = new AgentConfig();
        Assert.Equal(defaults.Listen, config.Listen);
        Assert.Null(config.Interface);
        Assert.Equal("Information", config.LogLevel);
        var t = Assert.Single(config.Targets);
        Assert.Equal("console", t.Name);
        Assert.Equal(["icmp", "arp", "ddp", "tcp:9295"], t.Probes.Select(p => p.Text));
        Assert.Equal(TimeSpan.FromSeconds(5), t.Interval);
        Assert.Equal(TimeSpan.FromSeconds(1), t.Timeout);
        var v = new ReachProbe.Verdict.VerdictOptions();
        Assert.Equal(v.NegativeEvidenceThreshold, config.Thresholds.NegativeEvidenceThreshold);
        Assert.Equal(v.ReplyTimeout, config.Thresholds.ReplyTimeout);
        Assert.Equal(v.RepeatWindow, config.Thresholds.RepeatWindow);
        Assert.Equal(v.ArpRepeatWindow, config.Thresholds.ArpRepeatWindow);
        Assert.Equal(v.SilenceWindow, config.Thresholds.SilenceWindow);
    }

    [Fact]
    public void Parse_TargetWithoutProbes_TakesTheDefaults()
    {
        var c = AgentConfig.Parse("""{ "defaults": { "probes": ["icmp"], "intervalSeconds": 2 }, "targets": [ { "ip": "198.18.0.27" } ] }""", "test");
        var t = Assert.Single(c.Targets);
        Assert.Equal("198.18.0.27", t.Name);
        Assert.Equal(["icmp"], t.Probes.Select(p => p.Text));
        Assert.Equal(TimeSpan.FromSeconds(2), t.Interval);
    }
}
