using ReachProbe.Agent;

namespace ReachProbe.Tests.Agent;

/// <summary>Each invalid file in configs/ is paired with its exact error text (blackbox_exporter's config/testdata habit).</summary>
public class AgentConfigTests
{
    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Agent", "configs");

    public static TheoryData<string> InvalidFiles => new(Directory.GetFiles(Dir, "invalid-*.json").Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(InvalidFiles))]
    public void Load_InvalidFile_ListsEveryProblemWithItsPath(string file)
    {
        var path = Path.Combine(Dir, file);
        var e = Assert.Throws<ConfigException>(() => AgentConfig.Load(path));
        var expected = File.ReadAllLines(path + ".err").Select(l => $"{path}: {l}");
        Assert.Equal(expected, e.Problems);
    }

    [Fact]
    public void ATargetAtALearnedAddress_TakesTheDefaultsInItsFamily_AGivenListIsKept()
    {
        var c = AgentConfig.Parse("""
            { "targets": [ { "name": "ps5", "host": "ps5.lan" }, { "name": "pi", "host": "pi.lan", "probes": ["icmp", "arp", "tcp:22"] } ] }
            """, "test");
        var (byDefault, given) = (c.Targets[0], c.Targets[1]);
        Assert.False(byDefault.ProbesGiven);
        Assert.True(given.ProbesGiven);
        var v6 = System.Net.IPAddress.Parse("2001:db8::27");
        var v4 = System.Net.IPAddress.Parse("198.18.0.27");
        // ndp for arp and no ddp over IPv6; over IPv4 the defaults as they are.
        Assert.Equal(["icmp", "ndp"], byDefault.At(v6).Probes.Select(p => p.Text));
        Assert.Equal(["icmp", "arp", "ddp"], byDefault.At(v4).Probes.Select(p => p.Text));
        Assert.Equal(v6, byDefault.At(v6).Ip);
        // A given list too: a device watched in both families has each probe in each, the ARP twin its family's.
        Assert.Equal(["icmp", "ndp", "tcp:22"], given.At(v6).Probes.Select(p => p.Text));
        Assert.Equal(["icmp", "arp", "tcp:22"], given.At(v4).Probes.Select(p => p.Text));
    }

    [Fact]
    public void Load_ShippedExample_HasTheDocumentedDefaults()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "ReachProbe.sln"))) root = Path.GetDirectoryName(root)!;
        var config = AgentConfig.Load(Path.Combine(root, "config", "reachprobe.json"));
        var defaults = new AgentConfig();
        Assert.Equal(defaults.Listen, config.Listen);
        Assert.Null(config.Interface);
        Assert.Equal("Information", config.LogLevel);
        var t = Assert.Single(config.Targets);
        Assert.Equal("console", t.Name);
        Assert.Equal(["icmp", "arp", "ddp", "tcp:9295"], t.Probes.Select(p => p.Text));
        Assert.Equal(TimeSpan.FromSeconds(5), t.Interval);
        Assert.Equal(TimeSpan.FromSeconds(1), t.Timeout);
        var v = new ReachProbe.Verdict.VerdictOptions();
        Assert.Equal(v.NegativeEvidenceThreshold, config.Thresholds.NegativeEvidenceThreshold);
        Assert.Equal(v.ReplyTimeout, config.Thresholds.ReplyTimeout);
        Assert.Equal(v.RepeatWindow, config.Thresholds.RepeatWindow);
        Assert.Equal(v.ArpRepeatWindow, config.Thresholds.ArpRepeatWindow);
        Assert.Equal(v.SilenceWindow, config.Thresholds.SilenceWindow);
        Assert.Equal(v.TransmitGrace, config.Thresholds.TransmitGrace);
        Assert.Equal(v.DownConfirmation, config.Thresholds.DownConfirmation);
    }

    [Fact]
    public void Parse_TargetWithoutProbes_TakesTheDefaults()
    {
        var c = AgentConfig.Parse("""{ "defaults": { "probes": ["icmp"], "intervalSeconds": 2 }, "targets": [ { "ip": "198.18.0.27" } ] }""", "test");
        var t = Assert.Single(c.Targets);
        Assert.Equal("198.18.0.27", t.Name);
        Assert.Equal(["icmp"], t.Probes.Select(p => p.Text));
        Assert.Equal(TimeSpan.FromSeconds(2), t.Interval);
    }

    [Fact]
    public void Parse_IPv6Target_TakesTheDefaultsInItsFamily()
    {
        var c = AgentConfig.Parse("""
            { "targets": [ { "ip": "2001:db8::27" }, { "ip": "fe80::27%lo", "name": "console" }, { "ip": "198.18.0.27" },
                           { "ip": "2001:db8::28", "probes": ["icmp", "ndp", "tcp:80"] } ] }
            """, "test");
        Assert.Equal(["2001:db8::27", "console", "198.18.0.27", "2001:db8::28"], c.Targets.Select(t => t.Name));
        Assert.Equal(["icmp", "ndp"], c.Targets[0].Probes.Select(p => p.Text));
        Assert.Equal(["icmp", "arp", "ddp"], c.Targets[2].Probes.Select(p => p.Text));
        Assert.Equal(["icmp", "ndp", "tcp:80"], c.Targets[3].Probes.Select(p => p.Text));
        // The zone is the interface's index: the address is reached through it.
        Assert.Equal(long.Parse(SysNet.IfIndex("lo")!, System.Globalization.CultureInfo.InvariantCulture), c.Targets[1].Ip!.ScopeId);
        Assert.Equal(System.Net.IPAddress.Parse("2001:db8::27"), c.Targets[0].Ip);
    }

    [Fact]
    public void Parse_EnvironmentOverridesTheFile()
    {
        var env = new Dictionary<string, string?>
        {
            ["REACHPROBE__thresholds__silenceWindowSeconds"] = "60",
            ["REACHPROBE__targets__0__name"] = "tv",
            ["PATH"] = "/usr/bin",
        };
        var c = AgentConfig.Parse("""{ "thresholds": { "silenceWindowSeconds": 30 }, "targets": [ { "ip": "198.18.0.27", "name": "console" } ] }""", "test", env);
        Assert.Equal(TimeSpan.FromSeconds(60), c.Thresholds.SilenceWindow);
        Assert.Equal("tv", Assert.Single(c.Targets).Name);
    }

    [Fact]
    public void Parse_BadEnvironmentOverride_IsNamedAsSuch()
    {
        var env = new Dictionary<string, string?> { ["REACHPROBE__thresholds__silenceWindowSeconds"] = "soon" };
        var e = Assert.Throws<ConfigException>(() => AgentConfig.Parse("{}", "test", env));
        Assert.Equal(["test (with REACHPROBE__…): $.thresholds.silenceWindowSeconds: must be seconds (1–3600), not 'soon'"], e.Problems);
    }

    [Fact]
    public void Parse_EveryThreshold_IsSettable()
    {
        var json = "{ \"thresholds\": { " + string.Join(", ", ReachProbe.Verdict.VerdictSetting.All.Select(v => $"\"{v.Key}\": {v.Range.Max}")) + " } }";
        var c = AgentConfig.Parse(json, "test");
        foreach (var v in ReachProbe.Verdict.VerdictSetting.All) Assert.Equal(v.Range.Max, v.Get(c.Thresholds));
    }

    [Theory]
    [InlineData("/dev/zero", "/dev/zero: empty, or not a regular file (a pipe or a device); give a JSON configuration file")]
    [InlineData("/", "/: a directory, not a configuration file")]
    [InlineData("/nonexistent/reachprobe.json", "/nonexistent/reachprobe.json: cannot read: no such file")]
    public void Load_NotAConfigurationFile_IsOneLine(string path, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => AgentConfig.Load(path));
        Assert.Equal([expected], e.Problems);
    }

    [Fact]
    public async Task Load_Fifo_DoesNotBlock()
    {
        var dir = Directory.CreateTempSubdirectory("reachprobe-config-");
        try
        {
            var fifo = Path.Combine(dir.FullName, "fifo");
            using (var p = System.Diagnostics.Process.Start("mkfifo", fifo)) await p.WaitForExitAsync();
            var load = Task.Run(() => AgentConfig.Load(fifo));
            Assert.Same(load, await Task.WhenAny(load, Task.Delay(TimeSpan.FromSeconds(30))));
            var e = await Assert.ThrowsAsync<ConfigException>(() => load);
            Assert.Contains("not a regular file", Assert.Single(e.Problems));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Load_HugeFile_IsRefusedUnread()
    {
        var path = Path.GetTempFileName();
        try
        {
            using (var f = File.OpenWrite(path)) f.SetLength(AgentConfig.MaxFileBytes + 1);
            var e = Assert.Throws<ConfigException>(() => AgentConfig.Load(path));
            Assert.Equal([$"{path}: {AgentConfig.MaxFileBytes + 1} bytes, more than 1024 KiB; not a ReachProbe configuration"], e.Problems);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Parse_MoreTargetsThanMaxTargets_IsOneLine()
    {
        var targets = string.Join(", ", Enumerable.Range(1, 5).Select(i => $"{{ \"ip\": \"198.18.0.{i}\" }}"));
        var e = Assert.Throws<ConfigException>(() => AgentConfig.Parse($"{{ \"maxTargets\": 3, \"targets\": [ {targets} ] }}", "test"));
        Assert.Equal(["test: $.targets: 5 targets, more than maxTargets (3); raise \"maxTargets\" if this machine can carry them"], e.Problems);
    }

    [Theory]
    [InlineData("""{ "history": null }""", null)]
    [InlineData("""{ "history": "none" }""", null)]
    [InlineData("""{ "history": "/tmp/h.db" }""", "/tmp/h.db")]
    [InlineData("""{ }""", "default")]
    public void Parse_History_NullMeansNone(string json, string? expected) =>
        Assert.Equal(expected == "default" ? AgentConfig.DefaultHistory : expected, AgentConfig.Parse(json, "test").History);

    [Theory]
    [InlineData("/var/lib/private/reachprobe", null, null, false, "/var/lib/private/reachprobe/history.db")]
    [InlineData(null, null, "/home/ana", true, "/var/lib/reachprobe/history.db")]
    [InlineData(null, null, "/home/ana", false, "/home/ana/.local/state/reachprobe/history.db")]
    [InlineData(null, "/home/ana/state", "/home/ana", false, "/home/ana/state/reachprobe/history.db")]
    [InlineData(null, "relative", "/home/ana", false, "/home/ana/.local/state/reachprobe/history.db")]
    public void DefaultHistory_IsTheServiceStateDirectory_ElseVarLibForRoot_ElseTheUsersState(string? stateDirectory, string? xdg, string? home, bool root, string expected)
    {
        var env = new Dictionary<string, string?> { ["STATE_DIRECTORY"] = stateDirectory, ["XDG_STATE_HOME"] = xdg, ["HOME"] = home };
        Assert.Equal(expected, ReachProbe.History.HistoryStore.DefaultFor(k => env.GetValueOrDefault(k), root));
    }

    [Theory]
    [InlineData("REACHPROBE__listen", "reachprobe__listen", "$.listen")]
    [InlineData("REACHPROBE__capture__view", "REACHPROBE__capture:view", "$.capture.view")]
    public void Parse_TwoEnvironmentSpellingsOfOneSetting_AreRefusedNamingBoth(string one, string other, string path)
    {
        // They crashed the agent (a duplicate dictionary key): which one wins would be a guess.
        var e = Assert.Throws<ReachProbe.Agent.ConfigException>(() => ReachProbe.Agent.AgentConfig.Parse("{}", "c.json",
            new Dictionary<string, string?> { [one] = "198.18.0.12:9942", [other] = "full" }));
        var line = Assert.Single(e.Problems);
        Assert.Contains(one, line);
        Assert.Contains(other, line);
        Assert.Contains($"both set {path}: keep one", line);
    }

    [Fact]
    public void Load_ByteOrderMark_IsAccepted()
    {
        var path = Path.Combine(Path.GetTempPath(), $"reachprobe-bom-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. System.Text.Encoding.UTF8.GetBytes("""{ "listen": "198.18.0.12:9942" }""")]);
            var config = ReachProbe.Agent.AgentConfig.Load(path, new Dictionary<string, string?>());
            Assert.Equal("198.18.0.12:9942", config.Listen.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void FromEnvironment_AppliesTheOverrides_WithoutAFile()
    {
        var config = ReachProbe.Agent.AgentConfig.FromEnvironment(new Dictionary<string, string?> { ["REACHPROBE__listen"] = "198.18.0.12:9000", ["REACHPROBE__maxTargets"] = "10" });
        Assert.Equal("198.18.0.12:9000", config.Listen.ToString());
        Assert.Equal(10, config.MaxTargets);
        var e = Assert.Throws<ReachProbe.Agent.ConfigException>(() => ReachProbe.Agent.AgentConfig.FromEnvironment(new Dictionary<string, string?> { ["REACHPROBE__listen"] = "soon" }));
        Assert.StartsWith("the environment (with REACHPROBE__…): $.listen: 'soon'", Assert.Single(e.Problems));
    }

    [Fact]
    public void Parse_Labels_AreKept_AndTheirNamesListedSorted()
    {
        var c = AgentConfig.Parse("""{ "targets": [ { "ip": "198.18.0.27", "labels": { "room": "living", "model": "PS5" } }, { "ip": "198.18.0.28", "labels": { "room": "den" } } ] }""", "test");
        Assert.Equal("living", c.Targets[0].Labels["room"]);
        Assert.Equal("PS5", c.Targets[0].Labels["model"]);
        Assert.Equal(["model", "room"], c.LabelNames);
    }

    [Theory]
    [InlineData("""{ "2room": "x" }""", "$.targets[0].labels.2room: not a Prometheus label name")]
    [InlineData("""{ "__room": "x" }""", "$.targets[0].labels.__room: not a Prometheus label name")]
    [InlineData("""{ "room-name": "x" }""", "$.targets[0].labels.room-name: not a Prometheus label name")]
    [InlineData("""{ "firmware": "x" }""", "$.targets[0].labels.firmware: 'firmware' is ReachProbe's own label")]
    [InlineData("""{ "room": { "a": "b" } }""", "$.targets[0].labels.room: must be a string")]
    [InlineData("""{ "room": "" }""", "$.targets[0].labels.room: must be 1–128 characters")]
    [InlineData("\"living\"", "$.targets[0].labels: must be an object")]
    public void Parse_BadLabel_IsNamed(string labels, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => AgentConfig.Parse($$"""{ "targets": [ { "ip": "198.18.0.27", "labels": {{labels}} } ] }""", "test"));
        Assert.StartsWith($"test: {expected}", Assert.Single(e.Problems));
    }

    [Fact]
    public void Parse_ThousandLabels_IsOneLine()
    {
        var many = string.Join(", ", Enumerable.Range(0, 1000).Select(i => $"\"l{i}\": \"v\""));
        var e = Assert.Throws<ConfigException>(() => AgentConfig.Parse($$"""{ "targets": [ { "ip": "198.18.0.27", "labels": { {{many}} } } ] }""", "test"));
        Assert.Equal(["test: $.targets[0].labels: 1000 labels, more than 16"], e.Problems);
    }

    [Fact]
    public void Parse_TooManyLabelNamesOverAllTargets_IsRefused()
    {
        var targets = string.Join(", ", Enumerable.Range(0, 3).Select(t =>
            $$"""{ "ip": "198.18.0.{{t + 1}}", "labels": { {{string.Join(", ", Enumerable.Range(0, 12).Select(i => $"\"t{t}l{i}\": \"v\""))}} } }"""));
        var e = Assert.Throws<ConfigException>(() => AgentConfig.Parse($$"""{ "targets": [ {{targets}} ] }""", "test"));
        Assert.Equal(["test: $.targets: 36 different label names, more than 32: each is a label of reachprobe_target_info"], e.Problems);
    }
}
