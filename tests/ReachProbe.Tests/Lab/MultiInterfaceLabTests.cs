using Xunit.Abstractions;

namespace ReachProbe.Tests.Lab;

/// <summary>One agent on two interfaces: a capture, view and filter on each, each console watched on the one facing it.</summary>
[Trait("Category", "Lab")]
public sealed class MultiInterfaceLabTests(ITestOutputHelper output) : AgentLab(output)
{
    [Fact]
    public void Run_TwoInterfaces_EachConsoleOnItsOwn_DeafOnOneLeavesTheOtherUp()
    {
        LabNet.AddSecondSegment();
        var config = Path.Combine(Path.GetDirectoryName(LabNet.HistoryPath)!, "reachprobe.json");
        // The first console's interface is found from its subnet; the second names its own.
        File.WriteAllText(config, $$"""
            { "listen": "{{LabNetwork.ProbeIp}}:{{Port}}", "interfaces": ["br0", "br1"], "defaults": { "intervalSeconds": 1, "probes": ["icmp", "arp"] },
              "targets": [ { "name": "hall1", "ip": "{{LabNetwork.ConsoleIp}}" },
                           { "name": "hall2", "ip": "{{LabNetwork.Console2Ip}}", "interface": "br1" } ] }
            """);
        LabNet.StartAgent(["--config", config]);
        WaitForState("hall1", "up", TimeSpan.FromSeconds(20));
        WaitForState("hall2", "up", TimeSpan.FromSeconds(10));
        // A capture on each, each with its own view and filter: br0 sees the router's traffic with the console (full);
        // on br1 only the monitor and its console talk — its view is its own (switched) until others' unicast shows.
        WaitForMetric("""reachprobe_capture_view{interface="br0",view="full"} 1""", TimeSpan.FromSeconds(20));
        var metrics = Metrics()!;
        Assert.Matches("""reachprobe_capture_view\{interface="br1",view="(full|switched)"\} 1""", metrics);
        Assert.Contains("""reachprobe_probe_success{target="hall2",probe="arp"} 1""", metrics);
        Assert.Matches("""reachprobe_capture_filter_instructions\{interface="br1",kind="[a-z]+"\} \d+""", metrics);
        lock (LabNet.AgentLog) Assert.Contains("on br0 and br1", LabNet.AgentLog.ToString());

        // The second segment's console deaf: it is, the first stays up.
        LabNet.MakeSecondConsoleDeaf();
        WaitForState("hall2", "deaf", TimeSpan.FromSeconds(10));
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("up", StateOf("hall1"));
            Thread.Sleep(200);
        }
        // Both deaf, then both heard again: each on its own segment.
        LabNet.MakeDeaf();
        WaitForState("hall1", "deaf", TimeSpan.FromSeconds(10));
        LabNet.Heal();
        LabNet.HealSecondConsole();
        WaitForState("hall1", "up", TimeSpan.FromSeconds(10));
        WaitForState("hall2", "up", TimeSpan.FromSeconds(10));
        metrics = Metrics()!;
        Assert.Contains("""reachprobe_target_state_changes_total{target="hall1",state="deaf"} 1""", metrics);
        Assert.Contains("""reachprobe_target_state_changes_total{target="hall2",state="deaf"} 1""", metrics);
    }
}
