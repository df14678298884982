using ReachProbe.Cli;

namespace ReachProbe.Tests.Cli;

public class RunCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Invoke(args);

    [Fact]
    public void Run_InvalidConfig_ListsEveryProblemAndExitsTwo_StartingNothing()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Agent", "configs", "invalid-targets.json");
        var (code, stdout, stderr) = Run("run", "--config", path);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        var expected = File.ReadAllLines(path + ".err").Select(l => $"reachprobe: {path}: {l}");
        Assert.Equal(expected, stderr.TrimEnd('\n').Split('\n'));
    }

    [Theory]
    [InlineData(new[] { "run", "--target", "999.1.1.1" }, "--target '999.1.1.1' is not a unicast IPv4 address")]
    [InlineData(new[] { "run", "--interval", "0" }, "--interval takes seconds (0.1–86400), not '0'")]
    [InlineData(new[] { "run", "--listen", "9942" }, "--listen '9942' is not ADDRESS:PORT")]
    [InlineData(new[] { "run", "--bogus" }, "unknown option '--bogus' for run")]
    public void Run_BadUsage_ExitsTwo(string[] args, string expected)
    {
        var (code, _, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
    }
}
