using System.Text.Json;
using System.Text.RegularExpressions;

namespace ReachProbe.Tests.Config;

/// <summary>The Grafana dashboard, checked structurally, and every PromQL expression parsed by promtool.</summary>
public partial class DashboardTests
{
    public static readonly string File_ = RepoFiles.Path("grafana", "reachprobe-dashboard.json");

    /// <summary>Every panel's expressions, with the dashboard's variables replaced as Grafana would for "All".</summary>
    public static IReadOnlyList<(string Panel, string Expr)> Expressions() => Queries().Select(q => (q.Panel, q.Expr)).ToList();

    /// <summary>
    /// Every query the dashboard runs — each panel's, and the annotations' — with what the panel needs of its answer:
    /// its type, whether it asks for an instant (a table) or a range, and the labels its legend names.
    /// </summary>
    public static IReadOnlyList<(string Panel, string Type, string Expr, bool Instant, IReadOnlyList<string> Labels)> Queries()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(File_));
        var list = doc.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => (
                p.GetProperty("title").GetString()!, p.GetProperty("type").GetString()!, Substitute(t.GetProperty("expr").GetString()!),
                t.TryGetProperty("instant", out var i) && i.GetBoolean(),
                (IReadOnlyList<string>)LegendLabels(t.TryGetProperty("legendFormat", out var l) ? l.GetString()! : ""))))
            .ToList();
        foreach (var a in doc.RootElement.GetProperty("annotations").GetProperty("list").EnumerateArray().Where(a => a.TryGetProperty("expr", out _)))
            list.Add(("annotation " + a.GetProperty("name").GetString(), "annotation", Substitute(a.GetProperty("expr").GetString()!), false,
                LegendLabels(a.GetProperty("titleFormat").GetString()! + a.GetProperty("textFormat").GetString())));
        return list;
    }

    private static List<string> LegendLabels(string format) => LegendLabel().Matches(format).Select(m => m.Groups[1].Value).Distinct().ToList();

    public static string Substitute(string expr) => expr
        .Replace("$__rate_interval", "1m").Replace("$__interval", "15s").Replace("$__range", "1h").Replace("$target", ".*").Replace("$instance", ".*");

    [Fact]
    public void Dashboard_TitlesMatchTheirQueries_PercentilesAreComputed()
    {
        foreach (var panel in Queries().GroupBy(q => q.Panel))
            foreach (Match m in Percentile().Matches(panel.Key))
            {
                var q = "0." + m.Groups[1].Value.TrimEnd('0');
                Assert.True(panel.Any(e => e.Expr.Contains($"histogram_quantile({q},", StringComparison.Ordinal)), $"panel '{panel.Key}' says p{m.Groups[1].Value} but computes no {q} quantile");
            }
    }

    [Fact]
    public void Dashboard_BarChart_IsAnInstantTable_PivotedToOneRowPerBar()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(File_));
        var bars = doc.RootElement.GetProperty("panels").EnumerateArray().Where(p => p.GetProperty("type").GetString() == "barchart").ToList();
        Assert.NotEmpty(bars);
        foreach (var p in bars)
        {
            // Grafana's bar chart draws one frame of rows: a range query's time series give it nothing to put on its x axis.
            foreach (var t in p.GetProperty("targets").EnumerateArray())
            {
                Assert.True(t.GetProperty("instant").GetBoolean());
                Assert.False(t.GetProperty("range").GetBoolean());
                Assert.Equal("table", t.GetProperty("format").GetString());
            }
            var x = p.GetProperty("options").GetProperty("xField").GetString();
            var pivot = Assert.Single(p.GetProperty("transformations").EnumerateArray(), tr => tr.GetProperty("id").GetString() == "groupingToMatrix");
            Assert.Equal(x, pivot.GetProperty("options").GetProperty("rowField").GetString());
        }
    }

    [Fact]
    public void Dashboard_EveryQueryFollowsTheInstanceVariable_AndStateChangesAreAnnotated()
    {
        foreach (var (panel, _, expr, _, _) in Queries())
            foreach (Match m in Selector().Matches(expr))
                Assert.True(m.Value.Contains("instance=~\".*\"", StringComparison.Ordinal), $"'{panel}': {m.Value} ignores $instance");
        Assert.Contains(Queries(), q => q.Type == "annotation" && q.Expr.Contains("reachprobe_target_state{", StringComparison.Ordinal) && q.Expr.Contains(" offset ", StringComparison.Ordinal));
        // One unit a panel: a 0/1 health gauge and a packet rate do not share an axis.
        using var doc = JsonDocument.Parse(File.ReadAllText(File_));
        var units = doc.RootElement.GetProperty("panels").EnumerateArray().ToDictionary(p => p.GetProperty("title").GetString()!,
            p => p.GetProperty("fieldConfig").GetProperty("defaults").TryGetProperty("unit", out var u) ? u.GetString() : null);
        Assert.Equal("none", units["Capture and link up"]);
        Assert.Equal("pps", units["Capture packets per second"]);
    }

    [Fact]
    public void Dashboard_PanelsHaveUniqueIdsAndUseTheDatasourceVariable()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(File_));
        var panels = doc.RootElement.GetProperty("panels").EnumerateArray().ToList();
        Assert.True(panels.Count >= 7);
        var ids = panels.Select(p => p.GetProperty("id").GetInt32()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        foreach (var p in panels)
        {
            var title = p.GetProperty("title").GetString();
            Assert.Equal("${datasource}", p.GetProperty("datasource").GetProperty("uid").GetString());
            foreach (var t in p.GetProperty("targets").EnumerateArray())
                Assert.True(t.GetProperty("datasource").GetProperty("uid").GetString() == "${datasource}", $"panel '{title}' does not use the datasource variable");
        }
    }

    [Fact]
    public void Dashboard_VariablesResolve()
    {
        var json = File.ReadAllText(File_);
        using var doc = JsonDocument.Parse(json);
        var variables = doc.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray().Select(v => v.GetProperty("name").GetString()!).ToHashSet();
        Assert.Contains("datasource", variables);
        Assert.Contains("target", variables);
        Assert.Contains("instance", variables);
        var builtIn = new HashSet<string> { "__rate_interval", "__interval", "__range", "__all", "value" };
        foreach (Match m in VariableUse().Matches(json))
        {
            var name = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
            Assert.True(variables.Contains(name) || builtIn.Contains(name), $"undefined variable ${name}");
        }
        // The target variable's query reads a metric the agent exports.
        var target = doc.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray().Single(v => v.GetProperty("name").GetString() == "target");
        Assert.Contains("reachprobe_target_state", target.GetProperty("definition").GetString());
    }

    [Fact]
    public void Dashboard_EveryExpressionParses()
    {
        // promtool parses recording rules offline: each expression becomes one.
        var dir = Directory.CreateTempSubdirectory("reachprobe-dash-").FullName;
        try
        {
            var rules = "groups:\n  - name: dashboard\n    rules:\n" + string.Concat(Expressions().Select((e, i) =>
                $"      - record: dashboard_expr_{i}\n        expr: {JsonSerializer.Serialize(e.Expr)}\n"));
            File.WriteAllText(Path.Combine(dir, "dash.yml"), rules);
            var (code, output) = RepoFiles.Run(RepoFiles.Promtool, dir, "check", "rules", "dash.yml");
            Assert.True(code == 0, output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [GeneratedRegex(@"\$\{(\w+)\}|\$(\w+)")]
    private static partial Regex VariableUse();

    [GeneratedRegex(@"\{\{\s*(\w+)\s*\}\}")]
    private static partial Regex LegendLabel();

    [GeneratedRegex(@"\bp(\d\d)\b")]
    private static partial Regex Percentile();

    [GeneratedRegex(@"reachprobe_\w+(\{[^}]*\})?")]
    private static partial Regex Selector();
}
