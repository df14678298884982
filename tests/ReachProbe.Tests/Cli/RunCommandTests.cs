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
    [InlineData(new[] { "run", "--target", "999.1.1.1" }, "reachprobe: --target '999.1.1.1' is not an IPv4 address (four decimal numbers 0–255, such as 198.18.0.27) (see 'reachprobe run --help')")]
    [InlineData(new[] { "run", "--target", "198.51.100.08" }, "reachprobe: --target '198.51.100.08' has a leading zero: write 198.51.100.8 (some tools read 010 as octal 8) (see 'reachprobe run --help')")]
    [InlineData(new[] { "run", "--target", "198.51.100.027" }, "--target '198.51.100.027' has a leading zero: write 198.51.100.27")]
    [InlineData(new[] { "run", "--target=224.0.0.1" }, "--target '224.0.0.1' is not a unicast host address")]
    [InlineData(new[] { "run", "--target", "fe80::27" }, "--target 'fe80::27' is link-local: name its interface, as in fe80::27%br0")]
    [InlineData(new[] { "run", "--target", "fe80::27%nosuch9" }, "--target 'fe80::27%nosuch9' has a zone (%nosuch9) that names no interface of this machine")]
    [InlineData(new[] { "run", "--target", "ff02::1" }, "--target 'ff02::1' is a multicast address, not a host's")]
    [InlineData(new[] { "run", "--target", "2001:db8::27", "--probes", "icmp,arp", "--interface", "lo", "--history", "none", "--check" }, "reachprobe: --probes: arp asks for an IPv4 address; 2001:db8::27 is IPv6: its twin is ndp")]
    [InlineData(new[] { "run", "--history", "" }, "--history needs a path, not an empty string")]
    [InlineData(new[] { "run", "--config", "/dev/zero", "--check" }, "reachprobe: /dev/zero: empty, or not a regular file (a pipe or a device); give a JSON configuration file")]
    [InlineData(new[] { "run", "--config", "" }, "--config needs a path, not an empty string")]
    [InlineData(new[] { "run", "--interval=x" }, "--interval takes seconds (0.1–86400), not 'x'")]
    [InlineData(new[] { "run", "--interval", "0" }, "--interval takes seconds (0.1–86400), not '0'")]
    [InlineData(new[] { "run", "--listen", "9942" }, "--listen '9942' is not ADDRESS:PORT")]
    [InlineData(new[] { "run", "--bogus" }, "unknown option '--bogus' for run")]
    public void Run_BadUsage_ExitsTwo(string[] args, string expected)
    {
        var (code, _, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
    }

    [Fact]
    public void Run_IPv6Target_TakesIcmpAndNdp()
    {
        var (code, _, stderr) = Run("run", "--target", "2001:db8::27", "--target", "fe80::27%lo", "--history", "none", "--interface", "lo", "--check");
        Assert.Equal(0, code);
        // lo has no IPv6 prefix of theirs: no NDP probe, said; ICMPv6 stays. A link-local target is named with its interface.
        Assert.Contains("reachprobe run: configuration OK: would monitor 2001:db8::27, fe80::27%lo on lo with icmp every 5 s", stderr);
        Assert.Contains("reachprobe: fe80::27%lo: no NDP probe:", stderr);
        Assert.DoesNotContain("arp", stderr);
    }

    [Fact]
    public void Run_SameTargetTwice_IsMonitoredOnce()
    {
        // --check: validates and prints what it would monitor; nothing is started or sent.
        var (code, _, stderr) = Run("run", "--target", "198.18.0.27", "--target", "198.18.0.27", "--history", "none", "--interface", "lo", "--check");
        Assert.Equal(0, code);
        Assert.Contains("reachprobe run: configuration OK: would monitor 198.18.0.27 on lo with icmp,ddp every 5 s (timeout 1 s);", stderr);
        Assert.DoesNotContain("reachprobe run: monitoring", stderr); // nothing was started
        Assert.DoesNotContain("198.18.0.27, 198.18.0.27", stderr);
    }

    [Fact]
    public void Run_AThousandTargets_TheStartLineNamesAFewAndCountsTheRest()
    {
        var args = new List<string> { "run", "--history", "none", "--interface", "lo", "--check" };
        for (var i = 0; i < 1000; i++) args.AddRange(["--target", $"198.18.{16 + i / 250}.{1 + i % 250}"]);
        var (code, _, stderr) = Run([.. args]);
        Assert.Equal(0, code);
        Assert.Contains("reachprobe run: configuration OK: would monitor 198.18.16.1, 198.18.16.2, 198.18.16.3, 198.18.16.4, 198.18.16.5, 198.18.16.6, 198.18.16.7, 198.18.16.8 and 992 more (1,000 targets) on lo with", stderr);
        Assert.DoesNotContain("198.18.16.9,", stderr);
    }

    [Fact]
    public void Run_ProbesAndTimeout_LikeProbe_AppliedToEveryTarget()
    {
        var (code, _, stderr) = Run("run", "--target", "198.18.0.27", "--probes", "icmp,tcp:9295", "--timeout", "0.5", "--interval", "2", "--history", "none", "--interface", "lo", "--check");
        Assert.Equal(0, code);
        Assert.Contains("with icmp,tcp:9295 every 2 s (timeout 0.5 s);", stderr);
        // A timeout longer than the interval is cut to it.
        (code, _, stderr) = Run("run", "--target", "198.18.0.27", "--timeout", "3", "--interval", "1", "--history", "none", "--interface", "lo", "--check");
        Assert.Equal(0, code);
        Assert.Contains("every 1 s (timeout 1 s);", stderr);
    }

    [Theory]
    [InlineData(new[] { "run", "--probes", "icmp,tcp:0", "--check" }, "reachprobe: --probes: 'tcp:0': the TCP port must be 1–65535")]
    [InlineData(new[] { "run", "--probes", "ping", "--check" }, "reachprobe: --probes: unknown probe 'ping'")]
    [InlineData(new[] { "run", "--timeout", "0", "--check" }, "--timeout takes seconds (0.01–60), not '0'")]
    public void Run_BadProbesOrTimeout_OneLineExitTwo(string[] args, string expected)
    {
        var (code, _, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Run_Db_NamesTheHistoryAsReportAndAnalyzeDo_HistoryStillTaken_AndReachprobeDbHonoured()
    {
        var (code, _, stderr) = Run("run", "--target", "198.18.0.27", "--interface", "lo", "--db", "none", "--check");
        Assert.Equal(0, code);
        Assert.Contains("; history off", stderr);
        (code, _, stderr) = Run("run", "--target", "198.18.0.27", "--interface", "lo", "--history", "/tmp/reachprobe-test-h.db", "--check");
        Assert.Equal(0, code);
        Assert.Contains("; history /tmp/reachprobe-test-h.db", stderr);
        // $REACHPROBE_DB, in a process of its own (the variable is the process's).
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "reachprobe.dll"), "run", "--target", "198.18.0.27", "--interface", "lo", "--check" }) psi.ArgumentList.Add(a);
        psi.Environment["REACHPROBE_DB"] = "/tmp/reachprobe-test-env.db";
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        Assert.Contains("; history /tmp/reachprobe-test-env.db", err);
    }

    [Fact]
    public void Run_MoreTargetsThanMaxTargets_OnTheCommandLine_IsRefused()
    {
        var args = new List<string> { "run", "--check" };
        for (var i = 0; i < 4100; i++) args.AddRange(["--target", $"198.18.{16 + i / 250}.{1 + i % 250}"]);
        var (code, stdout, stderr) = Run([.. args]);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("reachprobe: --target: 4100 targets, more than maxTargets (4096)", stderr);
    }

    [Fact]
    public void Run_HugeProbeList_ErrorsAreShortAndFew()
    {
        // A 900,000-character list: each problem quotes at most 80 characters, and five of them are shown.
        var one = new string('x', 900_000);
        var (code, _, stderr) = Run("run", "--check", "--probes", one);
        Assert.Equal(2, code);
        Assert.True(stderr.Length < 1000, $"{stderr.Length} characters of error");
        var many = string.Join(",", Enumerable.Range(0, 100_000).Select(i => $"bogus{i}"));
        (code, _, stderr) = Run("run", "--check", "--probes", many);
        Assert.Equal(2, code);
        Assert.Contains("and 99995 more problems in the list", stderr);
        Assert.True(stderr.Length < 2000, $"{stderr.Length} characters of error");
    }

    [Fact]
    public async Task Run_EnvironmentOverride_WithoutConfig_IsApplied()
    {
        // A process of its own: the environment is the whole process's, and other tests read it.
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "reachprobe.dll"), "run", "--check", "--target", "198.18.0.27"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["REACHPROBE__listen"] = "soon";
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(2, p.ExitCode);
        Assert.Contains("reachprobe: the environment (with REACHPROBE__…): $.listen: 'soon'", await stderr);
    }
}
