using System.Text.Json;
using System.Text.RegularExpressions;

namespace ReachProbe.Tests.Config;

/// <summary>The Grafana dashboard, checked structurally, and every PromQL expression parsed by promtool.</summary>
public partial class DashboardTests
{
    public static readonly string File_ = RepoFiles.Path("grafana", "reachprobe-dashboard.json");

    /// <summary>Every panel's expressions, with the dashboard's variables replaced as Grafana would for "All".</summary>
    public static IReadOnlyList<(string Panel, string Expr)> Expressions()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(File_));
        return doc.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => (p.GetProperty("title").GetString()!, Substitute(t.GetProperty("expr").GetString()!))))
            .ToList();
    }

    public static string Substitute(string expr) => expr
        .Replace("$__rate_interval", "1m").Replace("$__interval", "15s").Replace("$__range", "1h").Replace("$target", ".*");

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
        var builtIn = new HashSet<string> { "__rate_interval", "__interval", "__range", "__all" };
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
}
