using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace ReachProbe.Tests.Lab;

/// <summary>The real agent in the probe namespace, read over HTTP on /metrics while faults are injected into the console.</summary>
[Trait("Category", "Lab")]
public sealed class AgentLabTests(ITestOutputHelper output) : AgentLab(output)
{
    private string WaitForMetricMatching(string pattern, TimeSpan limit)
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
        WaitForAgent();

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
        foreach (var family in new[] { "reachprobe_probe_success", "reachprobe_probe_round_trip_seconds_total", "reachprobe_probe_duration_all_targets_seconds_bucket", "reachprobe_probes_total", "reachprobe_wire_evidence_total",
            "reachprobe_target_last_frame_timestamp_seconds", "reachprobe_target_state_changes_total", "reachprobe_capture_packets_total", "reachprobe_capture_up", "reachprobe_link_up", "reachprobe_target_info" })
            Assert.Contains(family + "{", metrics);
        Assert.Contains("""reachprobe_target_state_changes_total{target="198.18.0.27",state="deaf"} 1""", metrics);
        // On the bridge the capture sees the console's and the router's unicast: the full view.
        Assert.Contains("""reachprobe_capture_view{interface="br0",view="full"} 1""", metrics);
        Assert.Matches("""reachprobe_target_info\{target="198\.18\.0\.27",ip="198\.18\.0\.27",mac="02:00:00:00:00:27",host_type="PS4",firmware="7\.02"\} 1""", metrics);
        PromtoolAccepts(metrics);
    }

    [Fact]
    public void Run_ConsoleByItsMacAlone_UpFollowedThroughADhcpRenew_ThenDeafThenDown()
    {
        const string Target = LabNetwork.ConsoleMac;
        LabNet.StartAgent(["--target", Target, "--interval", "1", "--listen", $"{LabNetwork.ProbeIp}:{Port}"]);
        WaitForAgent();
        WaitForMetricMatching(Regex.Escape($"reachprobe_target_address{{target=\"{Target}\",address=\"198.18.0.27\",family=\"ipv4\"}} 1"), TimeSpan.FromSeconds(5));

        // A renew moves it to .28: followed within one probe interval (1 s) — the new address on /metrics, its probes
        // answered there — and it stays up throughout.
        // Results of attempts at the address it left are dropped, not counted: the first answer counted after the move was
        // seen is one at the new address.
        long before = 0;
        var watch = Stopwatch.StartNew();
        LabNet.MoveConsole("198.18.0.28");
        TimeSpan? moved = null, answered = null;
        var path = new List<string?>();
        while (watch.Elapsed < TimeSpan.FromSeconds(5) || answered is null && watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            var m = Metrics() ?? "";
            if (moved is null && m.Contains($"reachprobe_target_address{{target=\"{Target}\",address=\"198.18.0.28\",family=\"ipv4\"}} 1", StringComparison.Ordinal))
            {
                moved = watch.Elapsed;
                before = AnsweredIcmp(Target);
            }
            else if (moved is not null && answered is null && AnsweredIcmp(Target) > before) answered = watch.Elapsed;
            if (State() is var s && (path.Count == 0 || path[^1] != s)) path.Add(s);
            Thread.Sleep(50);
        }
        Output.WriteLine($"after the renew: the new address on /metrics in {moved?.TotalMilliseconds:0} ms, its ICMP probe answered there in {answered?.TotalMilliseconds:0} ms (interval 1 s); states: {string.Join(", ", path)}");
        Assert.NotNull(moved);
        Assert.NotNull(answered); // its probes followed it
        Assert.Equal(["up"], path);
        var metrics = Metrics()!;
        Assert.DoesNotContain("address=\"198.18.0.27\"", metrics);
        Assert.Contains($"reachprobe_target_address_changes_total{{target=\"{Target}\"}} 1", metrics);
        Assert.Contains("ip=\"198.18.0.28\",mac=\"02:00:00:00:00:27\"", metrics);
        Assert.True(LogHas("moved from 198.18.0.27 to 198.18.0.28"), "the move was not logged");

        LabNet.MakeDeaf();
        path = WaitFor("deaf", TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("down", path);
        LabNet.LinkDown();
        WaitFor("down", TimeSpan.FromSeconds(10));
        metrics = Metrics()!;
        Assert.Contains($"reachprobe_target_state_changes_total{{target=\"{Target}\",state=\"deaf\"}} 1", metrics);
        Assert.DoesNotContain($"reachprobe_target_state_changes_total{{target=\"{Target}\",state=\"unknown\"}}", metrics);
    }

    [Fact]
    public void Run_ConsoleByItsHostName_FollowedWhenItsRecordChanges_AResolverDownIsNotItsFault()
    {
        var config = Path.Combine(Path.GetDirectoryName(LabNet.HistoryPath)!, "reachprobe.json");
        File.WriteAllText(config, $$"""
            { "listen": "{{LabNetwork.ProbeIp}}:{{Port}}", "resolver": "{{LabNetwork.RouterIp}}",
              "defaults": { "probes": ["icmp", "arp"], "intervalSeconds": 1 },
              "targets": [ { "name": "console", "host": "console.lan" } ] }
            """);
        LabNet.StartAgent(["--config", config]);
        WaitForAgent();
        Assert.Contains("""reachprobe_target_address{target="console",address="198.18.0.27",family="ipv4"} 1""", Metrics());
        // Its probes answered there from the start (their results count before its first move too).
        WaitForMetricMatching("""^reachprobe_probe_success\{target="console",probe="icmp"\} 1$""", TimeSpan.FromSeconds(5));
        Assert.True(LogHas("console (console.lan) at 198.18.0.27"), "the start line does not say where the name resolved");

        // A renew: the router's DNS says .28 as the console takes it. dnsmasq's TTL is 0: the name is asked again every
        // interval, and the target follows.
        var watch = Stopwatch.StartNew();
        LabNet.ConsoleRecord("198.18.0.28");
        LabNet.MoveConsole("198.18.0.28");
        TimeSpan? moved = null;
        var path = new List<string?>();
        while (watch.Elapsed < TimeSpan.FromSeconds(6))
        {
            if (moved is null && (Metrics() ?? "").Contains("""reachprobe_target_address{target="console",address="198.18.0.28",family="ipv4"} 1""", StringComparison.Ordinal)) moved = watch.Elapsed;
            if (State() is var s && (path.Count == 0 || path[^1] != s)) path.Add(s);
            Thread.Sleep(50);
        }
        Output.WriteLine($"after the record changed: the new address on /metrics in {moved?.TotalMilliseconds:0} ms; states: {string.Join(", ", path)}");
        Assert.NotNull(moved);
        Assert.Equal(["up"], path);
        Assert.True(LogHas("console (console.lan) moved from 198.18.0.27 to 198.18.0.28"), "the move was not logged");

        // The resolver goes away: said once, the console still watched (and up) where it was.
        LabNet.StopDns();
        path = Watch(TimeSpan.FromSeconds(8));
        Assert.Equal(["up"], path);
        Assert.Equal(1, CountInLog("its host name does not resolve"));
        Assert.True(LogHas("still watched at 198.18.0.28"), "the resolver's failure did not say where the target is still watched");
        LabNet.StartDns();
        var back = Stopwatch.StartNew();
        while (!LogHas("its host name resolves again") && back.Elapsed < TimeSpan.FromSeconds(15)) Thread.Sleep(100);
        Assert.True(LogHas("its host name resolves again"), "the resolver's return was not said");
        Assert.Contains("""reachprobe_target_address_changes_total{target="console"} 1""", Metrics());
    }

    private long AnsweredIcmp(string target) =>
        Regex.Match(Metrics() ?? "", Regex.Escape($"reachprobe_probes_total{{target=\"{target}\",probe=\"icmp\",result=\"answered\"}} ") + "(\\d+)") is { Success: true } m
            ? long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;

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
        WaitForAgent();
        LabNet.DropEchoRepliesOnTheMonitor();
        var path = WaitFor("unknown", TimeSpan.FromSeconds(15));
        Assert.DoesNotContain("deaf", path);
        Assert.DoesNotContain("down", path);
        // The console logger writes on its own thread: the line may follow the state by a moment.
        var watch = Stopwatch.StartNew();
        while (!LogHas("its echo reply reached the wire but not our socket") && watch.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(100);
        Assert.True(LogHas("its echo reply reached the wire but not our socket"), "the socket-blind warning was not logged");
    }

    [Fact]
    public void Run_Sigterm_StopsCleanly()
    {
        var agent = LabNet.StartAgent(Agent);
        WaitForAgent();
        using (var kill = Process.Start("kill", ["-TERM", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!) kill.WaitForExit();
        Assert.True(agent.WaitForExit(10_000), "the agent did not stop within 10 s of SIGTERM");
        Assert.Equal(0, agent.ExitCode);
        Assert.Null(Metrics()); // the endpoint is gone with it
    }

    [Fact]
    public void Run_Sighup_ReloadsTheConfiguration_UnchangedTargetKeepsItsState()
    {
        var config = Path.Combine(Path.GetDirectoryName(LabNet.HistoryPath)!, "reachprobe.json");
        string Config(params string[] targets) => $$"""{ "listen": "{{LabNetwork.ProbeIp}}:{{Port}}", "defaults": { "probes": ["icmp"], "intervalSeconds": 1 }, "targets": [ {{string.Join(", ", targets)}} ] }""";
        var console = $$"""{ "ip": "{{LabNetwork.ConsoleIp}}", "labels": { "room": "living" } }""";
        File.WriteAllText(config, Config(console));
        var agent = LabNet.StartAgent(["--config", config]);
        WaitForAgent();
        // The person's own labels ride on target_info, for group_left joins.
        Assert.Matches("""reachprobe_target_info\{target="198\.18\.0\.27",ip="198\.18\.0\.27",mac="[^"]*",host_type="[^"]*",firmware="[^"]*",room="living"\} 1""", Metrics()!);
        LabNet.MakeDeaf();
        WaitFor("deaf", TimeSpan.FromSeconds(10));

        File.WriteAllText(config, Config(console, $$"""{ "name": "router", "ip": "{{LabNetwork.RouterIp}}" }"""));
        Hangup(agent);
        WaitForMetricMatching("""^reachprobe_target_state\{target="router",state="up"\} 1$""", TimeSpan.FromSeconds(10));
        var metrics = Metrics()!;
        Assert.Equal("deaf", State()); // kept: no unknown, no second incident
        Assert.DoesNotContain("""reachprobe_target_state_changes_total{target="198.18.0.27",state="unknown"}""", metrics);
        Assert.Contains("""reachprobe_target_state_changes_total{target="198.18.0.27",state="deaf"} 1""", metrics);

        File.WriteAllText(config, "{ \"targets\": [ { \"ip\": \"198.18.0.300\" } ] }");
        Hangup(agent);
        var watch = Stopwatch.StartNew();
        while (!LogHas("reload refused") && watch.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(100);
        Assert.True(LogHas("reload: " + config) || LogHas("$.targets[0].ip: '198.18.0.300'"), "the refused reload's problem was not logged");
        Assert.False(agent.HasExited);
        Assert.Contains("""reachprobe_target_state{target="router",state="up"} 1""", Metrics()!);
    }

    [Fact]
    public void Run_ConfigWithNoTargets_WatchesTheGateway_UntilAReloadListsTargets()
    {
        // The package's /etc/reachprobe/reachprobe.json as installed: no target. SIGHUP (systemctl reload) after the
        // edit must switch to the listed console — and never end the agent (it did: the signal's default action).
        LabNet.RouteDefaultViaRouter();
        var config = Path.Combine(Path.GetDirectoryName(LabNet.HistoryPath)!, "reachprobe.json");
        string Config(string targets) => $$"""{ "listen": "{{LabNetwork.ProbeIp}}:{{Port}}", "defaults": { "intervalSeconds": 1 }, "targets": [ {{targets}} ] }""";
        File.WriteAllText(config, Config("/* none yet */"));
        var agent = LabNet.StartAgent(["--config", config]);
        WaitForMetricMatching("""^reachprobe_target_state\{target="198\.18\.0\.1",state="up"\} 1$""", TimeSpan.FromSeconds(30));

        Hangup(agent); // unchanged: still the gateway
        var watch = Stopwatch.StartNew();
        while (!LogHas("reload: configuration unchanged") && watch.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(100);
        Assert.True(LogHas("reload: configuration unchanged"), "the reload of an unchanged file was not logged");

        File.WriteAllText(config, Config($$"""{ "name": "console", "ip": "{{LabNetwork.ConsoleIp}}" }"""));
        Hangup(agent);
        var metrics = WaitForMetricMatching("""^reachprobe_target_state\{target="console",state="up"\} 1$""", TimeSpan.FromSeconds(20));
        Assert.DoesNotContain("""reachprobe_target_state{target="198.18.0.1",""", metrics);
        Assert.False(agent.HasExited);
    }

    [Fact]
    public void Run_TargetsFromTheCommandLine_SighupAtFirstAnswerAndAfter_NothingToReload_AgentGoesOn()
    {
        // Without a file there is nothing to re-read: SIGHUP is answered, never the end of the agent — also the instant
        // /metrics first answers, before every part of the agent has started (it used to end it, 8 times of 8).
        var agent = LabNet.StartAgent(Agent);
        var watch = Stopwatch.StartNew();
        while (Metrics() is null && watch.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(20);
        Hangup(agent);
        WaitForAgent();
        Hangup(agent);
        const string Said = "reload: nothing to reload: the agent was started without a configuration file";
        watch.Restart();
        while (CountInLog(Said) < 2 && watch.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(100);
        Assert.Equal(2, CountInLog(Said));
        Assert.False(agent.HasExited, "SIGHUP ended the agent");
        Assert.Equal("up", State());
    }

    private int CountInLog(string text)
    {
        lock (LabNet.AgentLog) return Regex.Matches(LabNet.AgentLog.ToString(), Regex.Escape(text)).Count;
    }

    private bool LogHas(string text)
    {
        lock (LabNet.AgentLog) return LabNet.AgentLog.ToString().Contains(text, StringComparison.Ordinal);
    }

    private static void Hangup(Process agent)
    {
        using var kill = Process.Start("kill", ["-HUP", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    [Fact]
    public void Run_ListenAddressNotOurs_OneLineExitTwo_NothingWritten()
    {
        var agent = LabNet.StartAgent(["--target", LabNetwork.ConsoleIp, "--listen", "198.18.0.99:9942"]);
        Assert.True(agent.WaitForExit(30_000), "the agent did not give up on an address it cannot bind");
        agent.WaitForExit();
        Assert.Equal(2, agent.ExitCode);
        Assert.True(LogHas("reachprobe: cannot serve metrics on 198.18.0.99:9942: Cannot assign requested address"), "no one-line reason");
        lock (LabNet.AgentLog) Assert.DoesNotContain("   at ", LabNet.AgentLog.ToString());
        Assert.False(File.Exists(LabNet.HistoryPath), "the history was written by an agent that never started");
    }

    [Theory]
    [InlineData("deaf")]
    [InlineData("down")]
    public void Run_DuplicateOfTheConsolesAddress_ChangesNoVerdict_IsAConflict(string fault)
    {
        LabNet.StartAgent(Agent);
        WaitForAgent();
        if (fault == "deaf") LabNet.MakeDeaf();
        else LabNet.LinkDown();
        WaitFor(fault, TimeSpan.FromSeconds(10));
        // Another host takes the console's address: it answers ARP and pings from its own MAC and announces it.
        LabNet.AddDuplicate();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(15))
        {
            Assert.Equal(fault, State());
            Thread.Sleep(250);
        }
        var metrics = Metrics()!;
        Assert.Matches("""reachprobe_target_mac_conflicts_total\{target="198\.18\.0\.27",mac="02:00:00:00:00:66"\} [1-9]""", metrics);
        Assert.Matches("""reachprobe_target_info\{target="198\.18\.0\.27",ip="198\.18\.0\.27",mac="02:00:00:00:00:27",""", metrics);
        Assert.True(LogHas("02:00:00:00:00:66 claims its address, which belongs to 02:00:00:00:00:27"), "the conflict was not logged");
        Assert.Contains($"reachprobe_target_state_changes_total{{target=\"198.18.0.27\",state=\"{fault}\"}} 1", metrics);
    }

    [Theory]
    [InlineData("deaf", "unknown")]
    [InlineData("down", "down")]
    public void Run_ClonedMacOnAnotherBridgePort_NeverMakesTheConsoleUp(string fault, string then)
    {
        // Issue 18: a host on another bridge port with the console's MAC and address answers pings and ARP as the
        // console. Before, a deaf or unplugged console was "up" for as long as it answered (78 of 78 polls).
        LabNet.StartAgent(Agent);
        WaitForAgent();
        if (fault == "deaf") LabNet.MakeDeaf();
        else LabNet.LinkDown();
        WaitFor(fault, TimeSpan.FromSeconds(10));
        LabNet.AddDuplicate(clone: true);
        var seen = WaitFor(then, TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("up", seen);
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(12))
        {
            Assert.Equal(then, State());
            Thread.Sleep(250);
        }
        Assert.Matches("""reachprobe_target_mac_conflicts_total\{target="198\.18\.0\.27",mac="02:00:00:00:00:27"\} [1-9]""", Metrics()!);
        Assert.True(LogHas("its MAC 02:00:00:00:00:27 is also sending from bridge port pa0"), "the clone was not logged");
    }

    [Fact]
    public void Run_LongDeafness_StaysDeafOnTheConsolesOwnChatter()
    {
        // The end-to-end check of long deafness: the console's ARP cache ages in seconds here, so its who-has asked again
        // after the router's reply shows within the test; minutes of deafness are covered on a fake clock
        // (AgentLoopTests.Pass_LongDeafness_StaysDeafOnTheConsolesOwnChatter).
        LabNet.FastArpAging();
        LabNet.StartAgent(Agent);
        WaitForAgent();
        LabNet.MakeDeaf();
        WaitFor("deaf", TimeSpan.FromSeconds(10));
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.Equal("deaf", State());
            if (Regex.IsMatch(Metrics()!, """reachprobe_wire_evidence_total\{target="198\.18\.0\.27",signature="arp_repeated_after_reply"\} [1-9]""") && watch.Elapsed > TimeSpan.FromSeconds(15)) break;
            Thread.Sleep(500);
        }
        Assert.Matches("""reachprobe_wire_evidence_total\{target="198\.18\.0\.27",signature="arp_repeated_after_reply"\} [1-9]""", Metrics()!);
    }

    [Fact]
    public void Run_CaptureInterfaceGoneAndBack_UnknownThenUpAgain()
    {
        LabNet.StartAgent(Agent);
        WaitForAgent();
        LabNet.DeleteBridge();
        // The metrics endpoint lives on the bridge's address: read the state through the loopback-free path once it is back.
        Thread.Sleep(3000);
        LabNet.CreateBridge();
        var path = WaitFor("up", TimeSpan.FromSeconds(30));
        Assert.Contains("""reachprobe_target_state_changes_total{target="198.18.0.27",state="unknown"} 1""", Metrics()!);
        Assert.DoesNotContain("down", path);
        Assert.DoesNotContain("deaf", path);
        // The ARP probe heals too: it opens a new handle on the new interface and is answered again within 10 s.
        long Answered() => Regex.Match(Metrics() ?? "", """reachprobe_probes_total\{target="198\.18\.0\.27",probe="arp",result="answered"\} (\d+)""") is { Success: true } m
            ? long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        var before = Answered();
        var watch = Stopwatch.StartNew();
        var after = before;
        while (after <= before && watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(250);
            after = Answered();
        }
        Assert.True(after > before, $"the ARP probe was not answered after the interface came back ({before} → {after})");
    }

    [Fact]
    public void Run_FivePercentLoss_StaysUp()
    {
        LabNet.StartAgent(Agent);
        WaitForAgent();
        LabNet.Loss(5);
        // At least 20 s end to end, and until the loss has shown (a probe lost); ten minutes at 5 % run on a fake
        // clock (AgentLoopTests.Pass_FivePercentLoss_StaysUp).
        const string lost = """reachprobe_probes_total\{target="198\.18\.0\.27",probe="(icmp|arp)",result="timeout"\} [1-9]""";
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(120))
        {
            Assert.Equal("up", State());
            if (watch.Elapsed > TimeSpan.FromSeconds(20) && Regex.IsMatch(Metrics()!, lost)) break;
            Thread.Sleep(500);
        }
        // The loss is real: some probes were lost.
        Assert.Matches(lost, Metrics()!);
    }

    [Fact]
    public void Run_AsNobodyWithoutCapabilities_OneLineNamingThem_ExitTwo()
    {
        var agent = LabNet.StartAgent(Agent, ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all", "--"]);
        Assert.True(agent.WaitForExit(30_000), "the agent kept running without the capabilities it needs");
        agent.WaitForExit();
        Assert.Equal(2, agent.ExitCode);
        Assert.True(LogHas("reachprobe: run needs CAP_NET_RAW and CAP_NET_ADMIN to capture and probe"), "no one-line reason");
        Assert.True(LogHas("setcap cap_net_raw,cap_net_admin+eip"), "the setcap command was not given");
    }

    [Fact]
    public void Run_AsNobodyWithOnlyNetRawAndNetAdmin_Works()
    {
        LabNet.StartAgent(Agent, ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=+net_raw,+net_admin", "--ambient-caps=+net_raw,+net_admin", "--"]);
        WaitForAgent();
        // ICMP needs CAP_NET_RAW (raw socket), ARP and the capture CAP_NET_RAW and CAP_NET_ADMIN: all must work.
        WaitForMetricMatching("""^reachprobe_probe_success\{target="198\.18\.0\.27",probe="icmp"\} 1$""", TimeSpan.FromSeconds(10));
        var metrics = WaitForMetricMatching("""^reachprobe_probe_success\{target="198\.18\.0\.27",probe="arp"\} 1$""", TimeSpan.FromSeconds(10));
        Assert.Contains("""reachprobe_capture_up{interface="br0"} 1""", metrics);
    }
    [Fact]
    public void Run_WithoutLibpcap_SaysHowToInstallIt_KeepsProbing()
    {
        // A machine without libpcap (ReachProbe built from source, or the package's dependency removed by force): the
        // library is hidden from the agent alone — /dev/null over its file, in a mount namespace of the agent's own.
        var library = LibpcapFile();
        LabNet.StartAgent(Agent, ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", $"mount --bind /dev/null {library} && exec \"$@\"", "sh"]);
        var metrics = WaitForMetricMatching("""^reachprobe_probes_total\{target="198\.18\.0\.27",probe="icmp",result="answered"\} [1-9]""", TimeSpan.FromSeconds(30));
        Assert.Contains("""reachprobe_capture_up{interface="br0"} 0""", metrics);
        Assert.Contains("""reachprobe_target_state{target="198.18.0.27",state="unknown"} 1""", metrics);
        var watch = Stopwatch.StartNew();
        while (!LogHas("libpcap is not installed: install it with 'apt-get install libpcap0.8'") && watch.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(200);
        Assert.True(LogHas("libpcap is not installed: install it with 'apt-get install libpcap0.8'"), "the log does not say libpcap is missing");
        Assert.False(LogHas("DllNotFoundException"), "a stack trace instead of a reason");
    }

    /// <summary>The file this machine's libpcap.so.0.8 resolves to, as the dynamic linker's cache names it.</summary>
    private static string LibpcapFile()
    {
        using var p = Process.Start(new ProcessStartInfo("ldconfig", ["-p"]) { RedirectStandardOutput = true })!;
        var lines = p.StandardOutput.ReadToEnd().Split('\n');
        p.WaitForExit();
        var abi = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "AArch64" : "x86-64";
        var line = lines.FirstOrDefault(l => l.Contains("libpcap.so.0.8 ", StringComparison.Ordinal) && l.Contains(abi, StringComparison.Ordinal))
            ?? throw new InvalidOperationException("libpcap.so.0.8 is not in ldconfig's cache: apt-get install libpcap0.8");
        var file = line[(line.IndexOf("=> ", StringComparison.Ordinal) + 3)..].Trim();
        return new FileInfo(file).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? file;
    }
}
