using System.Diagnostics;
using Xunit.Abstractions;

namespace ReachProbe.Tests.Lab;

/// <summary>
/// The monitor on a plain switch port (a learning bridge in its own namespace joins console, router and probe host):
/// the capture sees the monitor's own conversations and the others' broadcasts, nothing else. A console that answers
/// nothing is unresponsive until it shows a frame (deaf) or its own broadcasts are overdue (down) — never a false down.
/// </summary>
[Trait("Category", "Lab")]
public sealed class SwitchPortLabTests(ITestOutputHelper output) : AgentLab(output, LabTopology.Switch, chatter: false)
{
    private string[] Config(double overdueMax = 300)
    {
        var path = Path.Combine(Path.GetDirectoryName(LabNet.HistoryPath)!, "reachprobe.json");
        File.WriteAllText(path, $$"""
            { "listen": "{{LabNetwork.ProbeIp}}:{{Port}}", "defaults": { "probes": ["icmp", "arp"], "intervalSeconds": 1 },
              "thresholds": { "overdueMaxSeconds": {{overdueMax}} },
              "targets": [ { "ip": "{{LabNetwork.ConsoleIp}}" }, { "name": "router", "ip": "{{LabNetwork.RouterIp}}" } ] }
            """);
        return ["--config", path];
    }

    private void WaitUntil(string text, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        string? last = null;
        while (watch.Elapsed < limit)
        {
            last = Metrics();
            if (last is not null && last.Contains(text, StringComparison.Ordinal)) return;
            Thread.Sleep(200);
        }
        Assert.Fail($"no '{text}' within {limit}; last exposition:\n{last}");
    }

    [Fact]
    public void Run_ChatteringConsoleDeaf_IsNeverDown_HealedUp_LinkDownUnresponsiveThenDown()
    {
        LabNet.StartChatter();                              // unicast to the router: invisible from here
        LabNet.StartBroadcasts(TimeSpan.FromSeconds(2));    // its announcements: all the monitor sees of it
        LabNet.StartAgent(Config());
        WaitFor("up", TimeSpan.FromSeconds(20));
        WaitUntil("""reachprobe_capture_view{interface="p0",view="switched"} 1""", TimeSpan.FromSeconds(60));
        Thread.Sleep(8000); // a few broadcasts: its cadence is learned while it answers

        LabNet.MakeDeaf();
        var path = WaitFor("deaf", TimeSpan.FromSeconds(15));
        // It keeps broadcasting within its cadence: deaf it stays, never down.
        path.AddRange(Watch(TimeSpan.FromSeconds(12)));
        Assert.DoesNotContain("down", path);
        Assert.Equal("deaf", path[^1]);

        LabNet.Heal();
        WaitFor("up", TimeSpan.FromSeconds(10));

        LabNet.LinkDown();
        path = WaitFor("down", TimeSpan.FromSeconds(30));
        // Silent from a switch port: unresponsive first, down once its 2 s cadence is overdue (the 10 s floor); never deaf.
        Assert.Contains("unresponsive", path);
        Assert.DoesNotContain("deaf", path);
        Assert.Contains("""reachprobe_target_state_changes_total{target="198.18.0.27",state="down"} 1""", Metrics()!);
    }

    [Fact]
    public void Run_ConsoleThatNeverBroadcasts_DeafStaysUnresponsive_ThenDownAtTheConfiguredMaximum()
    {
        // Nothing to ask either: a stale neighbour entry would make its deaf kernel ARP the monitor (unicast, so
        // visible here, and rightly deaf); with static neighbours it falls wholly silent.
        LabNet.StaticNeighbours();
        LabNet.StartAgent(Config(overdueMax: 20));
        WaitFor("up", TimeSpan.FromSeconds(20));

        LabNet.MakeDeaf();
        var path = WaitFor("unresponsive", TimeSpan.FromSeconds(10));
        // Nothing from it shows on a switch port: deaf or down cannot be told, and ReachProbe says so.
        path.AddRange(Watch(TimeSpan.FromSeconds(8)));
        Assert.Equal("unresponsive", path[^1]);
        path.AddRange(WaitFor("down", TimeSpan.FromSeconds(25)));
        Assert.DoesNotContain("deaf", path);
    }

    [Fact]
    public void Run_FloodedUnicastBetweenMadeUpMacs_NeitherFlipsTheViewNorMakesADeafConsoleDown()
    {
        // Issue 24: a host on another switch port toggles its link and sends unicast between two made-up MACs, A→B then
        // B→A, both flooded to the monitor. The view turned full within a second and a deaf console that was honestly
        // unresponsive became down for 20–37 s (the down alert would page), with a down incident in the history.
        LabNet.AddFlooder();
        LabNet.StartChatter();                               // unicast to the router: invisible from here
        LabNet.StartBroadcasts(TimeSpan.FromSeconds(15));    // all the monitor sees of it
        LabNet.StartAgent(Config());
        WaitFor("up", TimeSpan.FromSeconds(20));
        WaitUntil("""reachprobe_capture_view{interface="p0",view="switched"} 1""", TimeSpan.FromSeconds(60));
        Thread.Sleep(16_000); // a broadcast or two while it answers: its cadence

        LabNet.MakeDeaf();
        var path = WaitFor("unresponsive", TimeSpan.FromSeconds(15));
        for (var i = 0; i < 10; i++) LabNet.FloodBothWays();
        path.AddRange(Watch(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain("down", path);
        var metrics = Metrics()!;
        Assert.Contains("""reachprobe_capture_view{interface="p0",view="switched"} 1""", metrics);
        Assert.DoesNotContain("""reachprobe_target_state_changes_total{target="198.18.0.27",state="down"}""", metrics);
    }
}
