using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace ReachProbe.Tests.Lab;

/// <summary>The real agent in the probe namespace, read over HTTP on /metrics while faults are injected into the console.</summary>
[Trait("Category", "Lab")]
public sealed class AgentLabTests(ITestOutputHelper output) : AgentLab(output)
{
    private string WaitForMetric(string pattern, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        string? last = null;
        while (watch.Elapsed < limit)
        {
            last = Metrics();
            if (last is not null && Regex.IsMatch(last, pattern, RegexOptions.Multiline)) return last;
            Thread.Sleep(200);
        }
        Assert.Fail($"no metric matching {pattern} within {limit}; last exposition:\n{last}");
        return "";
    }

    [Fact]
    public void Run_FollowsTheConsole_UpDeafRecoveredDown()
    {
        LabNet.StartAgent(Agent);
        WaitFor("up", TimeSpan.FromSeconds(20));

        LabNet.MakeDeaf();
        var path = WaitFor("deaf", TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("down", path);

        LabNet.Heal();
        LabNet.GratuitousArp();
        WaitFor("up", TimeSpan.FromSeconds(10));

        LabNet.LinkDown();
        path = WaitFor("down", TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("deaf", path);
        // And it stays down, never deaf, while the link is down.
        for (var i = 0; i < 15; i++)
        {
            Assert.Equal("down", State());
            Thread.Sleep(200);
        }

        var metrics = Metrics()!;
        foreach (var family in new[] { "reachprobe_probe_success", "reachprobe_probe_duration_seconds_bucket", "reachprobe_probes_total", "reachprobe_wire_evidence_total",
            "reachprobe_target_last_frame_timestamp_seconds", "reachprobe_target_state_changes_total", "reachprobe_capture_packets_total", "reachprobe_capture_up", "reachprobe_link_up", "reachprobe_target_info" })
            Assert.Contains(family + "{", metrics);
        Assert.Contains("""reachprobe_target_state_changes_total{target="198.18.0.27",state="deaf"} 1""", metrics);
        Assert.Matches("""reachprobe_target_info\{target="198\.18\.0\.27",ip="198\.18\.0\.27",mac="02:00:00:00:00:27",host_type="PS4",firmware="7\.02"\} 1""", metrics);
        PromtoolAccepts(metrics);
    }

    private void PromtoolAccepts(string metrics)
    {
        var promtool = new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists);
        Assert.True(promtool is not null, "promtool is not installed (apt-get install prometheus; .ci/deps does it)");
        var psi = new ProcessStartInfo(promtool!, ["check", "metrics"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(metrics);
        p.StandardInput.Close();
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0 && output.Trim().Length == 0, $"promtool check metrics: exit {p.ExitCode}: {output}");
    }

    [Fact]
    public void Run_ReplyOnTheWireButNotOnTheSocket_IsUnknownNotDeaf()
    {
        // ICMP only: the ARP probe reads the wire itself and would keep proving the target alive.
        LabNet.StartAgent(["--target", LabNetwork.ConsoleIp, "--interval", "1", "--listen", $"{LabNetwork.ProbeIp}:{Port}"]);
        WaitFor("up", TimeSpan.FromSeconds(20));
        LabNet.DropEchoRepliesOnTheMonitor();
        var path = WaitFor("unknown", TimeSpan.FromSeconds(15));
        Assert.DoesNotContain("deaf", path);
        Assert.DoesNotContain("down", path);
        lock (LabNet.AgentLog) Assert.Contains("its echo reply reached the wire but not our socket", LabNet.AgentLog.ToString());
    }

    [Fact]
    public void Run_Sigterm_StopsCleanly()
    {
        var agent = LabNet.StartAgent(Agent);
        WaitFor("up", TimeSpan.FromSeconds(20));
        using (var kill = Process.Start("kill", ["-TERM", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!) kill.WaitForExit();
        Assert.True(agent.WaitForExit(10_000), "the agent did not stop within 10 s of SIGTERM");
        Assert.Equal(0, agent.ExitCode);
        Assert.Null(Metrics()); // the endpoint is gone with it
    }

    [Fact]
    public void Run_LongDeafness_StaysDeafOnTheConsolesOwnChatter()
    {
        LabNet.StartAgent(Agent);
        WaitFor("up", TimeSpan.FromSeconds(20));
        LabNet.MakeDeaf();
        WaitFor("deaf", TimeSpan.FromSeconds(10));
        // By now the console's ARP entry for the router has expired: it asks, the router answers, it asks again.
        for (var i = 0; i < 95; i++)
        {
            Assert.Equal("deaf", State());
            Thread.Sleep(1000);
        }
        Assert.Matches("""reachprobe_wire_evidence_total\{target="198\.18\.0\.27",signature="arp_repeated_after_reply"\} [1-9]""", Metrics()!);
    }

    [Fact]
    public void Run_CaptureInterfaceGoneAndBack_UnknownThenUpAgain()
    {
        LabNet.StartAgent(Agent);
        WaitFor("up", TimeSpan.FromSeconds(20));
        LabNet.DeleteBridge();
        // The metrics endpoint lives on the bridge's address: read the state through the loopback-free path once it is back.
        Thread.Sleep(3000);
        LabNet.CreateBridge();
        var path = WaitFor("up", TimeSpan.FromSeconds(30));
        Assert.Contains("""reachprobe_target_state_changes_total{target="198.18.0.27",state="unknown"} 1""", Metrics()!);
        Assert.DoesNotContain("down", path);
        Assert.DoesNotContain("deaf", path);
    }

    [Fact]
    public void Run_FivePercentLoss_StaysUp()
    {
        LabNet.StartAgent(Agent);
        WaitFor("up", TimeSpan.FromSeconds(20));
        LabNet.Loss(5);
        for (var i = 0; i < 60; i++)
        {
            Assert.Equal("up", State());
            Thread.Sleep(1000);
        }
        // The loss is real: some probes were lost.
        Assert.Matches("""reachprobe_probes_total\{target="198\.18\.0\.27",probe="(icmp|arp)",result="timeout"\} [1-9]""", Metrics()!);
    }

    [Fact]
    public void Run_AsNobodyWithOnlyNetRawAndNetAdmin_Works()
    {
        LabNet.StartAgent(Agent, ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=+net_raw,+net_admin", "--ambient-caps=+net_raw,+net_admin", "--"]);
        WaitFor("up", TimeSpan.FromSeconds(30));
        // ICMP needs CAP_NET_RAW (raw socket), ARP and the capture CAP_NET_RAW and CAP_NET_ADMIN: all must work.
        WaitForMetric("""^reachprobe_probe_success\{target="198\.18\.0\.27",probe="icmp"\} 1$""", TimeSpan.FromSeconds(10));
        var metrics = WaitForMetric("""^reachprobe_probe_success\{target="198\.18\.0\.27",probe="arp"\} 1$""", TimeSpan.FromSeconds(10));
        Assert.Contains("""reachprobe_capture_up{interface="br0"} 1""", metrics);
    }
}
