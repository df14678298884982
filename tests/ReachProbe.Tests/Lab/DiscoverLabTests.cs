using System.Text.Json;
using ReachProbe.Agent;
using Xunit.Abstractions;

namespace ReachProbe.Tests.Lab;

/// <summary>`reachprobe discover` on the lab's bridge, listening only: what each device says finds it.</summary>
[Trait("Category", "Lab")]
public sealed class DiscoverLabTests(ITestOutputHelper output) : AgentLab(output)
{
    [Fact]
    public void Discover_FindsTheConsoleAndTheRouter_ByWhatTheySay_AndWritesAConfigRunAccepts()
    {
        LabNet.StartBroadcasts(TimeSpan.FromSeconds(1)); // the console's SSDP NOTIFY
        LabNet.StartMdns("lab-router", "_http._tcp");
        LabNet.StartDdpSearches(); // the PlayStation app on the router's side asks; the console's answers cross the bridge
        var config = Path.Combine(Path.GetDirectoryName(LabNet.HistoryPath)!, "discovered.json");
        var started = DateTimeOffset.UtcNow;
        var (code, stdout, stderr) = LabNet.Reachprobe("discover", "--seconds", "6", "--json", "--config-out", config);
        Assert.True(code == 0, $"discover: exit {code}\n{stderr}");
        Assert.Contains("discover: listening on br0 for 6 s (nothing is sent)", stderr);
        using var doc = JsonDocument.Parse(stdout);
        var devices = doc.RootElement.EnumerateArray().ToDictionary(d => d.GetProperty("mac").GetString()!);

        var console = devices[LabNetwork.ConsoleMac];
        Assert.Equal("playstation", console.GetProperty("kind").GetString());
        Assert.Equal("PS4", console.GetProperty("model").GetString());
        Assert.Equal("7.02", console.GetProperty("firmware").GetString());
        Assert.False(console.GetProperty("standby").GetBoolean());
        Assert.Equal(["PS4-LAB"], console.GetProperty("names").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal([LabNetwork.ConsoleIp], console.GetProperty("addresses").EnumerateArray().Select(a => a.GetProperty("address").GetString()));
        Assert.Contains("ddp", console.GetProperty("learnedFrom").EnumerateArray().Select(l => l.GetString()));
        Assert.Contains("ssdp", console.GetProperty("learnedFrom").EnumerateArray().Select(l => l.GetString()));
        Assert.True(console.GetProperty("randomMac").GetBoolean()); // the lab's MACs are locally administered: no vendor

        var router = devices["02:00:00:00:00:01"];
        Assert.Equal(["lab-router"], router.GetProperty("names").EnumerateArray().Select(n => n.GetString()));
        Assert.Contains("mdns", router.GetProperty("learnedFrom").EnumerateArray().Select(l => l.GetString()));

        foreach (var (name, d) in new[] { ("console", console), ("router", router) })
            Output.WriteLine($"{name}: first heard {(DateTimeOffset.Parse(d.GetProperty("firstSeen").GetString()!, System.Globalization.CultureInfo.InvariantCulture) - started).TotalSeconds:0.0} s after discover started, from {string.Join(",", d.GetProperty("learnedFrom").EnumerateArray().Select(l => l.GetString()))}");

        // The configuration it wrote watches the console by its MAC, and run takes it.
        var written = AgentConfig.Load(config);
        var target = Assert.Single(written.Targets);
        Assert.Equal((LabNetwork.ConsoleMac, "PS4-LAB", null), (target.Mac, target.Name, target.Ip));
        Assert.Equal("true", target.Labels["discovered"]);
        var check = LabNet.Reachprobe("run", "--config", config, "--history", "none", "--check");
        Assert.True(check.Code == 0, check.Err);
        // And never over an existing file.
        var again = LabNet.Reachprobe("discover", "--seconds", "1", "--config-out", config);
        Assert.Equal(2, again.Code);
        Assert.Contains("already exists", again.Err);
    }

    [Fact]
    public void Run_Discovering_WatchesTheConsoleWithinOneSearch_CallsItDeaf_AndKeepsItThroughAReload()
    {
        var config = Path.Combine(Path.GetDirectoryName(LabNet.HistoryPath)!, "reachprobe.json");
        File.WriteAllText(config, $$"""
            { "listen": "{{LabNetwork.ProbeIp}}:9942", "defaults": { "probes": ["icmp", "arp"], "intervalSeconds": 1 },
              "discover": { "kinds": ["playstation"], "watch": true, "intervalSeconds": 2 },
              "targets": [ { "name": "router", "ip": "{{LabNetwork.RouterIp}}", "probes": ["icmp"] } ] }
            """);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var agent = LabNet.StartAgent(["--config", config]);
        WaitFor("up", TimeSpan.FromSeconds(20));
        Output.WriteLine($"the console discovered and up {watch.Elapsed.TotalSeconds:0.0} s after the agent started (DDP search every 2 s)");
        var metrics = Metrics()!;
        Assert.Contains("""reachprobe_discovered_devices{interface="br0",kind="playstation"} 1""", metrics);
        Assert.Matches("""reachprobe_target_info\{target="PS4-LAB",ip="198\.18\.0\.27",mac="02:00:00:00:00:27",host_type="[^"]*",firmware="7\.02",discovered="true"\} 1""", metrics);
        Assert.Matches("""reachprobe_target_info\{target="router",[^}]*,discovered=""\} 1""", metrics);

        WaitForAgent(); // the full view, before a fault
        LabNet.MakeDeaf();
        var path = WaitFor("deaf", TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("down", path);

        // A reload of the file (which never named the console) keeps what discovery added, in its state.
        using (var hup = System.Diagnostics.Process.Start("kill", ["-HUP", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!) hup.WaitForExit();
        Assert.Equal(["deaf"], Watch(TimeSpan.FromSeconds(3)));
        lock (LabNet.AgentLog) Assert.Contains("configuration unchanged", LabNet.AgentLog.ToString());
    }

    [Fact]
    public void Run_Discovering_AFloodOfForgedConsoles_AddsAtMostTheCap_TheConfiguredTargetsUnchanged()
    {
        LabNet.AddSilentHost(); // its port sends the forgeries
        var config = Path.Combine(Path.GetDirectoryName(LabNet.HistoryPath)!, "reachprobe.json");
        File.WriteAllText(config, $$"""
            { "listen": "{{LabNetwork.ProbeIp}}:9942", "defaults": { "probes": ["icmp"], "intervalSeconds": 1 },
              "discover": { "kinds": ["playstation"], "watch": true, "maxTargets": 8 },
              "targets": [ { "name": "console", "ip": "{{LabNetwork.ConsoleIp}}", "probes": ["icmp", "arp"] } ] }
            """);
        var agent = LabNet.StartAgent(["--config", config]);
        WaitForAgent();
        long Rss() => long.Parse(File.ReadLines($"/proc/{agent.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1],
            System.Globalization.CultureInfo.InvariantCulture);
        var before = Rss();
        LabNet.ForgeConsoles(10_000);
        // Under load the capture drops part of a burst (as libpcap does): what the catalog heard is counted, kept or not,
        // and the test waits until that stops growing.
        static int NotKept(string m) => System.Text.RegularExpressions.Regex.Match(m, """reachprobe_discovered_devices_not_kept\{interface="br0"\} (\d+)""") is { Success: true } x
            ? int.Parse(x.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        string metrics = "";
        var (total, stable) = (-1, System.Diagnostics.Stopwatch.StartNew());
        while (watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            metrics = Metrics() ?? "";
            var now = Heard(metrics) + NotKept(metrics);
            if (now != total) (total, stable) = (now, System.Diagnostics.Stopwatch.StartNew());
            else if (stable.Elapsed > TimeSpan.FromSeconds(2) && System.Text.RegularExpressions.Regex.Matches(metrics, """reachprobe_target_info\{[^}]*discovered="true"\} 1""").Count == 8) break;
            Thread.Sleep(200);
        }
        Output.WriteLine($"RSS {before / 1024} MB before 10,000 forged consoles, {Rss() / 1024} MB after; {Heard(metrics)} devices kept, {NotKept(metrics)} heard and not kept");
        // The catalog keeps at most 4,096 devices, the rest counted, not stored; discovery adds at most maxTargets and says
        // so once; the console is the configured target still, never a second, discovered one.
        Assert.True(total >= 1000, $"the flood did not arrive ({total} devices heard)");
        Assert.Equal(Math.Min(total, 4096), Heard(metrics));
        Assert.Equal(8, System.Text.RegularExpressions.Regex.Matches(metrics, """reachprobe_target_info\{[^}]*discovered="true"\} 1""").Count);
        Assert.Contains("""reachprobe_target_info{target="console",ip="198.18.0.27",mac="02:00:00:00:00:27",""", metrics);
        Assert.Equal("up", State());
        Assert.DoesNotContain("""target="PS4-LAB""", metrics);
        Thread.Sleep(1500);
        lock (LabNet.AgentLog) Assert.Single(System.Text.RegularExpressions.Regex.Matches(LabNet.AgentLog.ToString(), "no more are added"));
    }

    private static int Heard(string metrics) =>
        System.Text.RegularExpressions.Regex.Matches(metrics, """reachprobe_discovered_devices\{interface="br0",kind="\w+"\} (\d+)""")
            .Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task DiscoverActive_FindsEachKindOfDevice_WithinTenSeconds()
    {
        // The console (a PlayStation: DDP), the router (mDNS announcements, and an SSDP answer as a TV), a tablet taking its
        // address from the lab's dnsmasq (DHCP, with a host name), and a silent host only the ARP sweep finds.
        LabNet.AddSilentHost();
        LabNet.StartMdns("lab-router", "_http._tcp");
        LabNet.StartSsdpResponder();
        var started = DateTimeOffset.UtcNow;
        var discover = Task.Run(() => LabNet.Reachprobe("discover", "--seconds", "10", "--json", "--active"));
        await Task.Delay(2000);
        LabNet.DhcpClientRequest("lab-tablet", "198.18.0.120");
        var (code, stdout, stderr) = await discover;
        Assert.True(code == 0, $"discover: exit {code}\n{stderr}");
        Output.WriteLine(stderr);
        using var doc = JsonDocument.Parse(stdout);
        var devices = doc.RootElement.EnumerateArray().ToDictionary(d => d.GetProperty("mac").GetString()!);
        string[] Strings(JsonElement d, string name) => [.. d.GetProperty(name).EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Object ? e.GetProperty("address").GetString()! : e.GetString()!)];

        var console = devices[LabNetwork.ConsoleMac];
        Assert.Equal(("playstation", "PS4-LAB"), (console.GetProperty("kind").GetString(), Strings(console, "names").Single()));
        var router = devices["02:00:00:00:00:01"];
        Assert.Equal(("tv", "lab-router"), (router.GetProperty("kind").GetString(), Strings(router, "names").Single()));
        Assert.Superset(new HashSet<string> { "mdns", "ssdp" }, Strings(router, "learnedFrom").ToHashSet());
        var tablet = devices[LabNetwork.DhcpClientMac];
        Assert.Equal(["lab-tablet"], Strings(tablet, "names"));
        Assert.Contains("198.18.0.120", Strings(tablet, "addresses"));
        Assert.Equal("android-dhcp-14", tablet.GetProperty("dhcpVendorClass").GetString());
        var silent = devices[LabNetwork.AttackerMac];
        Assert.Equal(["arp"], Strings(silent, "learnedFrom"));
        Assert.Equal([LabNetwork.SilentIp], Strings(silent, "addresses"));
        foreach (var (name, d) in new[] { ("playstation", console), ("mdns+ssdp", router), ("dhcp", tablet), ("silent", silent) })
            Output.WriteLine($"{name}: first heard {(DateTimeOffset.Parse(d.GetProperty("firstSeen").GetString()!, System.Globalization.CultureInfo.InvariantCulture) - started).TotalSeconds:0.0} s after discover started");
    }

    [Fact]
    public void DiscoverActive_AsksOncePolitely_TheSilentHostOnlyTheSweepFinds_TheConsoleByItsSearch()
    {
        LabNet.AddSilentHost();
        LabNet.StartChatter(); // the console's ARP for the router shows it anyway; its kind needs the DDP search
        var (code, stdout, stderr) = LabNet.Reachprobe("discover", "--seconds", "5", "--json", "--active");
        Assert.True(code == 0, $"discover: exit {code}\n{stderr}");
        using var doc = JsonDocument.Parse(stdout);
        var devices = doc.RootElement.EnumerateArray().ToDictionary(d => d.GetProperty("mac").GetString()!);
        Output.WriteLine(stderr);

        var silent = devices[LabNetwork.AttackerMac];
        Assert.Equal([LabNetwork.SilentIp], silent.GetProperty("addresses").EnumerateArray().Select(a => a.GetProperty("address").GetString()));
        Assert.Equal(["arp"], silent.GetProperty("learnedFrom").EnumerateArray().Select(l => l.GetString()));
        var console = devices[LabNetwork.ConsoleMac];
        Assert.Equal("playstation", console.GetProperty("kind").GetString()); // it answered our DDP search
        Assert.Equal(3, devices.Count); // the console, the router, the silent host: never itself
        // What it sent: two DDP searches, one SSDP, one mDNS, and two passes of ARP over the /24 (253 others, the second
        // pass only to those that did not answer).
        var asked = System.Text.RegularExpressions.Regex.Match(stderr, @"discover: asked arp ×(\d+), ddp ×2, mdns ×1, ssdp ×1: (\d+) frames, ([\d,]+) bytes");
        Assert.True(asked.Success, stderr);
        var arp = int.Parse(asked.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(arp, 253 + 250 - 3, 253 + 250); // the console, the router and the silent host answered the first pass
    }
}

/// <summary>`reachprobe discover --active` on a dual-stack lab: its echo to all nodes finds a quiet console's IPv6 address.</summary>
[Trait("Category", "Lab")]
public sealed class DiscoverIPv6LabTests(ITestOutputHelper output) : AgentLab(output, chatter: false, ipv6: LabIPv6.DualStack)
{
    [Fact]
    public void DiscoverActive_EchoToAllNodes_ListsTheConsolesIPv6Address()
    {
        var (code, stdout, stderr) = LabNet.Reachprobe("discover", "--active", "--seconds", "3", "--json");
        Assert.True(code == 0, $"discover: exit {code}\n{stderr}");
        Output.WriteLine(stderr);
        Assert.Contains("icmp6 ×1", stderr);
        using var doc = JsonDocument.Parse(stdout);
        var console = doc.RootElement.EnumerateArray().Single(d => d.GetProperty("mac").GetString() == LabNetwork.ConsoleMac);
        var addresses = console.GetProperty("addresses").EnumerateArray().Select(a => (a.GetProperty("address").GetString(), a.GetProperty("family").GetString())).ToList();
        Assert.Contains((LabNetwork.ConsoleIp, "ipv4"), addresses);
        Assert.Contains((LabNetwork.ConsoleIp6, "ipv6"), addresses);
        Assert.Contains("ndp", console.GetProperty("learnedFrom").EnumerateArray().Select(l => l.GetString()));
    }
}
