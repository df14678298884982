using ReachProbe.Cli;

namespace ReachProbe.Tests.Cli;

/// <summary>What every command shares: per-command help, --opt=value, one-line usage errors naming the command's help.</summary>
public class CommandLineTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Invoke(args);

    [Theory]
    [InlineData("analyze", "--help", "--reply-timeout <SEC>")]
    [InlineData("analyze", "-h", "--down-confirmation <SEC>")]
    [InlineData("probe", "--help", "--probes <LIST>")]
    [InlineData("run", "--help", "--history <FILE|postgresql://…|none>")]
    [InlineData("report", "-h", "--since <SPAN>")]
    public void Command_Help_ListsItsOptionsAndExitsZero(string command, string flag, string option)
    {
        var (code, stdout, stderr) = Run(command, flag);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Contains($" {command} ", stdout); // "Usage: reachprobe COMMAND …" (the test host's name in-process)
        Assert.Contains(option, stdout);
    }

    [Theory]
    [InlineData("analyze", " analyze <FILE> [options]")]
    [InlineData("probe", " probe <TARGET> [options]")]
    [InlineData("run", "--probes <LIST>")]
    [InlineData("run", "--timeout <SEC>")]
    public void Command_Help_ShowsRequiredArgumentsAsRequired_AndRunTakesProbeOptions(string command, string expected)
    {
        var (code, stdout, _) = Run(command, "--help");
        Assert.Equal(0, code);
        Assert.Contains(expected, stdout);
        Assert.DoesNotContain("[<", stdout); // an optional argument would be shown as [<NAME>]
    }

    [Fact]
    public void Help_ListsEveryCommand_FromTheCommandTree()
    {
        var (code, stdout, _) = Run("--help");
        Assert.Equal(0, code);
        foreach (var c in CommandLine.Build(TextWriter.Null, TextWriter.Null).Subcommands)
            Assert.Contains($"reachprobe {c.Name} ", stdout);
    }

    [Fact]
    public void Version_SaysTheReleaseTheCommitAndTheRuntime()
    {
        var (code, stdout, _) = Run("--version");
        Assert.Equal(0, code);
        Assert.Matches(@"^reachprobe \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}|unknown); \.NET 10\.\d+\.\d+\S* linux-\w+\)\n$", stdout);
    }

    [Fact]
    public void NoArguments_PrintsTheOverviewOnStderr_ExitsTwo()
    {
        var (code, stdout, stderr) = Run();
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("reachprobe COMMAND --help", stderr);
    }

    [Fact]
    public void BadValue_QuotesAtMost80Characters()
    {
        var (code, _, stderr) = Run("run", "--target", new string('9', 100_000));
        Assert.Equal(2, code);
        var line = Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.True(line.Length < 250, line);
        Assert.Contains(new string('9', 80) + "…'", line);
    }

    [Fact]
    public void EveryVerdictThreshold_IsAnAnalyzeOption()
    {
        var (_, stdout, _) = Run("analyze", "--help");
        foreach (var v in ReachProbe.Verdict.VerdictSetting.All) Assert.Contains(v.Flag + " <", stdout);
    }

    [Fact]
    public void Probe_Loopback_IsRefusedLikeRunAndAnalyze()
    {
        var (code, _, stderr) = Run("probe", "127.0.0.1");
        Assert.Equal(2, code);
        Assert.Contains("'127.0.0.1' is not a unicast host address", stderr);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("report", "--help")]
    [InlineData("analyze", "--help")]
    public async Task FullStandardOutput_IsOneLineAndExit74(params string[] args)
    {
        // reachprobe … > /dev/full: every write fails with ENOSPC. It crashed with a stack trace (exit 134).
        var psi = new System.Diagnostics.ProcessStartInfo("sh", ["-c", "exec dotnet \"$0\" \"$@\" > /dev/full", Path.Combine(AppContext.BaseDirectory, "reachprobe.dll"), .. args])
        {
            RedirectStandardError = true,
        };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(74, p.ExitCode);
        Assert.Equal("reachprobe: cannot write the output: No space left on device", err.TrimEnd('\n'));
    }
}
