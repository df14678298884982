using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace ReachProbe.Tests.Lab;

/// <summary>An IPv6-only console watched by its address from the bridge: ICMPv6 and NDP probes, the wire's IPv6 signatures.</summary>
[Trait("Category", "Lab")]
public sealed class IPv6LabTests(ITestOutputHelper output) : AgentLab(output, ipv6: LabIPv6.ConsoleOnly)
{
    private static readonly string[] Agent6 = ["--target", LabNetwork.ConsoleIp6, "--interval", "1", "--listen", $"{LabNetwork.ProbeIp}:{Port}"];

    [Fact]
    public void Run_IPv6OnlyConsole_UpDeafRecoveredDown()
    {
        LabNet.StartAgent(Agent6);
        WaitForAgent();
        var metrics = Metrics()!;
        // Its probes in its family: ICMPv6 echo ("icmp6") and a neighbour solicitation, both answered.
        Assert.Contains("""reachprobe_probe_success{target="2001:db8::27",probe="icmp6"} 1""", metrics);
        Assert.Contains("""reachprobe_probe_success{target="2001:db8::27",probe="ndp"} 1""", metrics);
        Assert.DoesNotContain("probe=\"arp\"", metrics);
        Assert.Contains("""reachprobe_target_address{target="2001:db8::27",address="2001:db8::27",family="ipv6"} 1""", metrics);
        Assert.Matches("""reachprobe_target_info\{target="2001:db8::27",ip="2001:db8::27",mac="02:00:00:00:00:27"[^}]*\} 1""", metrics);

        LabNet.MakeDeaf();
        var path = WaitFor("deaf", TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("down", path);
        metrics = Metrics()!;
        // The wire's IPv6 signatures: its ICMPv6 echo requests unanswered, counted as the IPv4 ones are.
        Assert.Matches("""reachprobe_probe_success\{target="2001:db8::27",probe="ndp"\} 0""", metrics);

        LabNet.Heal();
        WaitFor("up", TimeSpan.FromSeconds(10));

        LabNet.LinkDown();
        path = WaitFor("down", TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("deaf", path);
        Assert.Contains("""reachprobe_target_state_changes_total{target="2001:db8::27",state="deaf"} 1""", Metrics()!);
    }

    [Fact]
    public void Run_IPv6OnlyConsoleByItsHostName_ItsAAAARecord_TheDefaultsInItsFamily()
    {
        // The router's DNS knows the console by its IPv6 address only (no A record, as for an IPv6-only device).
        LabNet.ConsoleRecord(LabNetwork.ConsoleIp6);
        var config = Path.Combine(Path.GetDirectoryName(LabNet.HistoryPath)!, "reachprobe.json");
        File.WriteAllText(config, $$"""
            { "listen": "{{LabNetwork.ProbeIp}}:{{Port}}", "resolver": "{{LabNetwork.RouterIp}}", "defaults": { "intervalSeconds": 1 },
              "targets": [ { "name": "console", "host": "console.lan" } ] }
            """);
        LabNet.StartAgent(["--config", config]);
        WaitForAgent();
        var metrics = Metrics()!;
        Assert.Contains("""reachprobe_target_address{target="console",address="2001:db8::27",family="ipv6"} 1""", metrics);
        // The default probes in its family: ndp for arp, and no ddp (PlayStation discovery is IPv4 broadcast).
        Assert.Contains("""reachprobe_probe_success{target="console",probe="icmp6"} 1""", metrics);
        Assert.Contains("""reachprobe_probe_success{target="console",probe="ndp"} 1""", metrics);
        Assert.DoesNotContain("probe=\"arp\"", metrics);
        Assert.DoesNotContain("probe=\"ddp\"", metrics);
        lock (LabNet.AgentLog) Assert.Contains("console (console.lan) at 2001:db8::27", LabNet.AgentLog.ToString());

        LabNet.MakeDeaf();
        var path = WaitFor("deaf", TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("down", path);
        LabNet.Heal();
        WaitFor("up", TimeSpan.FromSeconds(10));
    }
}

/// <summary><c>reachprobe probe</c> at an IPv6-only console: ICMPv6 and NDP by default, the verdict from the capture.</summary>
[Trait("Category", "Lab")]
public sealed class IPv6ProbeLabTests(ITestOutputHelper output) : AgentLab(output, ipv6: LabIPv6.ConsoleOnly)
{
    [Fact]
    public void Probe_IPv6OnlyConsole_HealthyThenDeaf()
    {
        var (code, stdout, stderr) = LabNet.Reachprobe("probe", LabNetwork.ConsoleIp6, "--count", "3", "--interval", "0.3", "--probes", $"icmp,ndp,tcp:{LabNetwork.ConsoleTcpPort}");
        Output.WriteLine(stdout + stderr);
        Assert.Equal((0, ""), (code, stderr));
        Assert.Contains($"is-at {LabNetwork.ConsoleMac}", stdout.Split('\n').Single(l => l.StartsWith("ndp:", StringComparison.Ordinal)));
        Assert.StartsWith("verdict: up — answered icmp 3/3, ndp 3/3, tcp:9295 3/3", stdout.TrimEnd().Split('\n')[^1]);
        LabNet.MakeDeaf();
        (code, stdout, stderr) = LabNet.Reachprobe("probe", LabNetwork.ConsoleIp6, "--count", "3", "--interval", "0.3");
        Output.WriteLine(stdout + stderr);
        Assert.Matches("^verdict: DEAF — transmits .* but answered none of .*neighbour solicitation", stdout.TrimEnd().Split('\n')[^1]);
    }
}

/// <summary>The same IPv6-only console from a plain switch port: deaf is told from down without seeing its unicast.</summary>
[Trait("Category", "Lab")]
public sealed class IPv6SwitchPortLabTests(ITestOutputHelper output) : AgentLab(output, LabTopology.Switch, chatter: false, ipv6: LabIPv6.ConsoleOnly)
{
    [Fact]
    public void Run_IPv6OnlyConsoleFromASwitchPort_UpDeafDown()
    {
        LabNet.StartChatter();                              // unicast to the router over IPv6: invisible from here
        LabNet.StartBroadcasts(TimeSpan.FromSeconds(2));    // its announcements to ff02::c: all the monitor sees of it
        LabNet.StartAgent(["--target", LabNetwork.ConsoleIp6, "--interval", "1", "--listen", $"{LabNetwork.ProbeIp}:{Port}"]);
        WaitForAgent();
        Thread.Sleep(8000); // a few announcements: its cadence is learned while it answers
        Assert.Contains("""reachprobe_capture_view{interface="p0",view="switched"} 1""", Metrics()!);

        LabNet.MakeDeaf();
        var path = WaitFor("deaf", TimeSpan.FromSeconds(15));
        path.AddRange(Watch(TimeSpan.FromSeconds(6)));
        Assert.DoesNotContain("down", path);
        LabNet.Heal();
        WaitFor("up", TimeSpan.FromSeconds(10));
        LabNet.LinkDown();
        // Silent from a switch port: unresponsive first, down once its 2 s cadence is overdue; never deaf.
        path = WaitFor("down", TimeSpan.FromSeconds(30));
        Assert.DoesNotContain("deaf", path);
    }
}

/// <summary>A dual-stack console deaf on IPv4 only: its IPv4 address is deaf, its IPv6 one up — which family failed shows.</summary>
[Trait("Category", "Lab")]
public sealed class DualStackLabTests(ITestOutputHelper output) : AgentLab(output, ipv6: LabIPv6.DualStack)
{
    [Fact]
    public void Run_DeafOnIPv4Only_TheIPv4AddressIsDeaf_TheIPv6OneUp()
    {
        // From a file, each address with its family's probes and the console's TCP service (over IPv6 too).
        var config = Path.Combine(Path.GetDirectoryName(LabNet.HistoryPath)!, "reachprobe.json");
        File.WriteAllText(config, $$"""
            { "listen": "{{LabNetwork.ProbeIp}}:{{Port}}", "defaults": { "intervalSeconds": 1 },
              "targets": [ { "ip": "{{LabNetwork.ConsoleIp}}", "probes": ["icmp", "arp", "tcp:{{LabNetwork.ConsoleTcpPort}}"] },
                           { "ip": "{{LabNetwork.ConsoleIp6}}", "probes": ["icmp", "ndp", "tcp:{{LabNetwork.ConsoleTcpPort}}"] } ] }
            """);
        LabNet.StartAgent(["--config", config]);
        WaitForAgent();
        WaitForState(LabNetwork.ConsoleIp6, "up", TimeSpan.FromSeconds(10));
        LabNet.MakeDeafOnIPv4Only();
        WaitForState(LabNetwork.ConsoleIp, "deaf", TimeSpan.FromSeconds(10));
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("up", StateOf(LabNetwork.ConsoleIp6));
            Thread.Sleep(200);
        }
        var metrics = Metrics()!;
        Assert.Contains("""reachprobe_probe_success{target="198.18.0.27",probe="arp"} 0""", metrics);
        Assert.Contains("""reachprobe_probe_success{target="2001:db8::27",probe="ndp"} 1""", metrics);
        Assert.Contains("""reachprobe_probe_success{target="2001:db8::27",probe="icmp6"} 1""", metrics);
        Assert.Contains("""reachprobe_probe_success{target="2001:db8::27",probe="tcp6:9295"} 1""", metrics);
        Assert.Contains("""reachprobe_probe_success{target="198.18.0.27",probe="tcp:9295"} 0""", metrics);

        // Healed, then deaf on both families: both addresses deaf; healed again: both up.
        LabNet.Heal();
        WaitForState(LabNetwork.ConsoleIp, "up", TimeSpan.FromSeconds(10));
        LabNet.MakeDeaf();
        WaitForState(LabNetwork.ConsoleIp, "deaf", TimeSpan.FromSeconds(10));
        WaitForState(LabNetwork.ConsoleIp6, "deaf", TimeSpan.FromSeconds(10));
        LabNet.Heal();
        WaitForState(LabNetwork.ConsoleIp, "up", TimeSpan.FromSeconds(10));
        WaitForState(LabNetwork.ConsoleIp6, "up", TimeSpan.FromSeconds(10));
    }

    /// <summary>From deaf on IPv4 only: healed, then deaf on both — the device deaf, one incident — and healed again.</summary>
    private void DeafOnBothThenHealed()
    {
        LabNet.Heal();
        LabNet.MakeDeaf();
        WaitForState("console", "deaf", TimeSpan.FromSeconds(15));
        LabNet.Heal();
        WaitForState("console", "up", TimeSpan.FromSeconds(10));
        Assert.Contains("""reachprobe_target_state_changes_total{target="console",state="deaf"} 1""", Metrics()!);
    }

    [Fact]
    public void Run_DualStackConsoleByItsMacOnly_OneDevice_DeafOnIPv4OnlyIsUp_WhichFamilyShows_FollowsItsRenew()
    {
        var config = Path.Combine(Path.GetDirectoryName(LabNet.HistoryPath)!, "reachprobe.json");
        File.WriteAllText(config, $$"""
            { "listen": "{{LabNetwork.ProbeIp}}:{{Port}}", "defaults": { "intervalSeconds": 1 },
              "targets": [ { "name": "console", "mac": "{{LabNetwork.ConsoleMac}}" } ] }
            """);
        LabNet.StartAgent(["--config", config]);
        // Both its addresses learned from its own frames (it talks over both), each with its family's probes answered.
        WaitForMetric("""reachprobe_target_address{target="console",address="2001:db8::27",family="ipv6"} 1""", TimeSpan.FromSeconds(20));
        WaitForMetric("""reachprobe_probe_success{target="console",probe="icmp6"} 1""", TimeSpan.FromSeconds(10));
        WaitForState("console", "up", TimeSpan.FromSeconds(10));
        var metrics = Metrics()!;
        Assert.Contains("""reachprobe_target_address{target="console",address="198.18.0.27",family="ipv4"} 1""", metrics);
        foreach (var probe in new[] { "icmp", "arp", "ndp" })
            WaitForMetric($"reachprobe_probe_success{{target=\"console\",probe=\"{probe}\"}} 1", TimeSpan.FromSeconds(5));
        Assert.Matches("""reachprobe_target_info\{target="console",ip="198.18.0.27",mac="02:00:00:00:00:27"[^}]*\} 1""", metrics);

        // Deaf on IPv4 only: it still hears on IPv6, so the device is up; its IPv4 probes say which family fails.
        LabNet.MakeDeafOnIPv4Only();
        WaitForMetric("""reachprobe_probe_success{target="console",probe="arp"} 0""", TimeSpan.FromSeconds(10));
        var path = new List<string?>();
        for (var i = 0; i < 25; i++)
        {
            if (StateOf("console") is var s && (path.Count == 0 || path[^1] != s)) path.Add(s);
            Thread.Sleep(200);
        }
        Assert.Equal(["up"], path);
        metrics = Metrics()!;
        Assert.Contains("""reachprobe_probe_success{target="console",probe="icmp"} 0""", metrics);
        Assert.Contains("""reachprobe_probe_success{target="console",probe="icmp6"} 1""", metrics);
        Assert.Contains("""reachprobe_probe_success{target="console",probe="ndp"} 1""", metrics);
        Assert.DoesNotContain("""reachprobe_target_state_changes_total{target="console",state="deaf"}""", metrics);
        lock (LabNet.AgentLog) Assert.Contains("console is DEAF on IPv4 (198.18.0.27), still up on its other address", LabNet.AgentLog.ToString());

        // Deaf on both: the device is deaf — one incident — and up again once healed.
        DeafOnBothThenHealed();

        // A DHCP renew: a new IPv4 address and its gratuitous ARP. Still up, the new address listed within an interval.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        LabNet.MoveConsole("198.18.0.28");
        TimeSpan? moved = null;
        path.Clear();
        while (watch.Elapsed < TimeSpan.FromSeconds(6))
        {
            if (moved is null && (Metrics() ?? "").Contains("""reachprobe_target_address{target="console",address="198.18.0.28",family="ipv4"} 1""", StringComparison.Ordinal)) moved = watch.Elapsed;
            if (StateOf("console") is var s && (path.Count == 0 || path[^1] != s)) path.Add(s);
            Thread.Sleep(50);
        }
        Output.WriteLine($"after the renew: the new IPv4 address on /metrics in {moved?.TotalMilliseconds:0} ms; states: {string.Join(", ", path)}");
        Assert.NotNull(moved);
        Assert.True(moved < TimeSpan.FromSeconds(1.5), $"the new address took {moved}");
        Assert.Equal(["up"], path);
        metrics = Metrics()!;
        Assert.DoesNotContain("address=\"198.18.0.27\"", metrics);
        Assert.Contains("""reachprobe_target_address{target="console",address="2001:db8::27",family="ipv6"} 1""", metrics);
        Assert.Contains("""reachprobe_target_address_changes_total{target="console"} 1""", metrics);
        WaitForMetric("""reachprobe_probe_success{target="console",probe="icmp"} 1""", TimeSpan.FromSeconds(5));

        // Its link down: down, on both families at once.
        LabNet.LinkDown();
        WaitForState("console", "down", TimeSpan.FromSeconds(10));
        Assert.Contains("""reachprobe_target_state_changes_total{target="console",state="deaf"} 1""", Metrics()!);
    }

    [Fact]
    public void Run_DualStackConsoleByItsHostName_ItsAAndAAAARecords_OneDevice()
    {
        // The router's DNS has both its records, as a dual-stack home router names its DHCP and SLAAC clients.
        LabNet.ConsoleRecord(LabNetwork.ConsoleIp, LabNetwork.ConsoleIp6);
        var config = Path.Combine(Path.GetDirectoryName(LabNet.HistoryPath)!, "reachprobe.json");
        File.WriteAllText(config, $$"""
            { "listen": "{{LabNetwork.ProbeIp}}:{{Port}}", "resolver": "{{LabNetwork.RouterIp}}", "defaults": { "intervalSeconds": 1 },
              "targets": [ { "name": "console", "host": "console.lan" } ] }
            """);
        LabNet.StartAgent(["--config", config]);
        WaitForMetric("""reachprobe_probe_success{target="console",probe="icmp6"} 1""", TimeSpan.FromSeconds(20));
        WaitForMetric("""reachprobe_probe_success{target="console",probe="icmp"} 1""", TimeSpan.FromSeconds(10));
        WaitForState("console", "up", TimeSpan.FromSeconds(10));
        var metrics = Metrics()!;
        Assert.Contains("""reachprobe_target_address{target="console",address="198.18.0.27",family="ipv4"} 1""", metrics);
        Assert.Contains("""reachprobe_target_address{target="console",address="2001:db8::27",family="ipv6"} 1""", metrics);
        lock (LabNet.AgentLog) Assert.Contains("console (console.lan) at 198.18.0.27 and 2001:db8::27", LabNet.AgentLog.ToString());

        LabNet.MakeDeafOnIPv4Only();
        WaitForMetric("""reachprobe_probe_success{target="console",probe="icmp"} 0""", TimeSpan.FromSeconds(10));
        for (var i = 0; i < 15; i++)
        {
            Assert.Equal("up", StateOf("console")); // it hears on IPv6
            Thread.Sleep(200);
        }
        DeafOnBothThenHealed();
    }

}

/// <summary>A dual-stack console that says nothing over IPv6: the agent asks all IPv6 nodes, and its answer shows its address.</summary>
[Trait("Category", "Lab")]
public sealed class DualStackQuietLabTests(ITestOutputHelper output) : AgentLab(output, chatter: false, ipv6: LabIPv6.DualStack)
{
    [Fact]
    public void Run_QuietDualStackConsoleByItsMac_ItsIPv6AddressFromItsAnswerToAllNodes()
    {
        LabNet.StartBroadcasts(TimeSpan.FromSeconds(1)); // IPv4 broadcasts only: its IPv4 address shows, its IPv6 one never would
        var config = Path.Combine(Path.GetDirectoryName(LabNet.HistoryPath)!, "reachprobe.json");
        File.WriteAllText(config, $$"""
            { "listen": "{{LabNetwork.ProbeIp}}:{{Port}}", "defaults": { "intervalSeconds": 1 },
              "targets": [ { "name": "console", "mac": "{{LabNetwork.ConsoleMac}}" } ] }
            """);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        LabNet.StartAgent(["--config", config]);
        WaitForMetric("""reachprobe_target_address{target="console",address="2001:db8::27",family="ipv6"} 1""", TimeSpan.FromSeconds(15));
        Output.WriteLine($"its IPv6 address learned {watch.Elapsed.TotalSeconds:0.0} s after the agent started");
        WaitForMetric("""reachprobe_probe_success{target="console",probe="ndp"} 1""", TimeSpan.FromSeconds(10));
        WaitForState("console", "up", TimeSpan.FromSeconds(10));
    }
}
