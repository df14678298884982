using System.Text.Json;
using System.Text.RegularExpressions;
using ReachProbe.Agent;
using ReachProbe.Probes;
using ReachProbe.Verdict;

namespace ReachProbe.Tests.Config;

/// <summary>
/// What README and config/reachprobe.json say of the code's tables — metrics, thresholds — is what the code has: a new
/// metric or threshold that is not documented, or a documented one that is gone, fails here.
/// </summary>
public partial class DocumentationTests
{
    private static string Readme => File.ReadAllText(RepoFiles.Path("README.md"));

    [GeneratedRegex(@"^\| `(?<name>reachprobe_[a-z_]+)` \|(?<labels>[a-z_, ]*)\|", RegexOptions.Multiline)]
    private static partial Regex MetricRow();

    [Fact]
    public void ReadmeMetricTable_NamesEveryMetricWithItsLabels_AndNoOther()
    {
        var metrics = new AgentMetrics(Prometheus.Metrics.NewCustomRegistry());
        var code = metrics.Collectors.Select(c => $"{c.Name} ({string.Join(", ", c.LabelNames)})").Order().ToList();
        var readme = MetricRow().Matches(Readme).Select(m => $"{m.Groups["name"].Value} ({m.Groups["labels"].Value.Trim()})").Order().ToList();
        Assert.Equal(code, readme);
    }

    [Fact]
    public void ReadmeThresholdTable_HasEveryThresholdsFlagDefaultAndRange()
    {
        var rows = Readme.Split('\n').Where(l => l.StartsWith("| `--", StringComparison.Ordinal)).ToList();
        foreach (var v in VerdictSetting.All)
        {
            var row = Assert.Single(rows, r => r.StartsWith($"| `{v.Flag} ", StringComparison.Ordinal));
            Assert.Contains($"| {v.DefaultText} |", row);
            Assert.EndsWith($"; {v.Range.Text} |", row.TrimEnd());
        }
    }

    [Fact]
    public void ExampleConfiguration_ListsEveryThresholdWithItsDefault()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(RepoFiles.Path("config", "reachprobe.json")),
            new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var thresholds = doc.RootElement.GetProperty("thresholds").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        Assert.Equal(VerdictSetting.All.Select(v => v.Key), thresholds.Keys);
        foreach (var v in VerdictSetting.All) Assert.Equal(v.Get(new VerdictOptions()), thresholds[v.Key]);
    }

    [Fact]
    public void ProbeLists_InTheExampleConfigurationAndReadme_AreTheProbeTable()
    {
        var config = File.ReadAllLines(RepoFiles.Path("config", "reachprobe.json")).Single(l => l.Contains("\"probes\": [\"icmp\"", StringComparison.Ordinal) && l.Contains("//", StringComparison.Ordinal));
        Assert.Equal(ProbeSpec.Syntaxes, config[(config.IndexOf("//", StringComparison.Ordinal) + 2)..].Trim());
        var table = Readme.Split('\n').SkipWhile(l => !l.StartsWith("| probe | what it does |", StringComparison.Ordinal)).Skip(2).TakeWhile(l => l.StartsWith('|'))
            .Select(l => l.Split('`')[1]).ToList();
        Assert.Equal(ProbeType.All.Select(p => p.Syntax), table);
    }

    [Fact]
    public void ReadmeWireEvidenceRow_ListsEverySignatureTheMetricCounts()
    {
        var row = Readme.Split('\n').Single(l => l.StartsWith("| `reachprobe_wire_evidence_total` |", StringComparison.Ordinal));
        var listed = row.Split("changed: ")[1].Split('.')[0].Split(", ").Order().ToList();
        var counted = EvidenceCatalog.All.Where(i => AgentMetrics.IsCounted(i.Kind)).Select(i => i.Name).Order().ToList();
        Assert.Equal(counted, listed);
    }
}
