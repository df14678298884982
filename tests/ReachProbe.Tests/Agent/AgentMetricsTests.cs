using Prometheus;
using ReachProbe.Agent;
using ReachProbe.Probes;

namespace ReachProbe.Tests.Agent;

/// <summary>The exposition: its series, and its size at a venue's scale.</summary>
public class AgentMetricsTests
{
    private static async Task<string> Scrape(CollectorRegistry registry)
    {
        using var s = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(s);
        return System.Text.Encoding.UTF8.GetString(s.ToArray());
    }

    /// <summary>What a healthy target probed with icmp and arp for a while leaves in the registry.</summary>
    private static void Healthy(AgentMetrics metrics, string target, Random random)
    {
        metrics.SetState(target, TargetState.Unknown);
        metrics.SetState(target, TargetState.Up);
        metrics.StateChanged(target, TargetState.Up);
        metrics.Info(target, [target, "02:00:00:00:00:27", "", ""], null);
        for (var round = 0; round < 50; round++)
        {
            foreach (var probe in new[] { "icmp", "arp" })
                metrics.Probe(target, new ProbeResult(probe, ProbeStatus.Answered, TimeSpan.FromTicks(random.Next(1_000, 20_000)), "ok"));
            metrics.Evidence(target, EvidenceKind.FrameFromTarget);
            metrics.Evidence(target, EvidenceKind.EchoAnswered);
            metrics.Evidence(target, EvidenceKind.ArpAnsweredByTarget);
            metrics.LastFrame(target, TestFrames.T0 + round * TimeSpan.TicksPerSecond + random.Next(0, 10_000_000));
        }
    }

    [Fact]
    public async Task AThousandHealthyTargets_ScrapeUnderOneMegabyte()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new AgentMetrics(registry);
        var random = new Random(12);
        for (var i = 0; i < 1000; i++) Healthy(metrics, $"198.18.{16 + i / 250}.{1 + i % 250}", random);
        var text = await Scrape(registry);
        // 3.4 MB with a histogram per target, 1.5 MB with a summary per target, a state series per state and every
        // answer also counted as wire evidence.
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(text), 1, 1_000_000);
        // What a user needs of each target is still there.
        Assert.Contains("""reachprobe_target_state{target="198.18.16.1",state="up"} 1""", text);
        Assert.Contains("""reachprobe_probes_total{target="198.18.16.1",probe="icmp",result="answered"} 50""", text);
        Assert.Matches("""reachprobe_probe_round_trip_seconds_total\{target="198\.18\.16\.1",probe="arp"\} 0\.0\d+""", text);
        Assert.Contains("""reachprobe_target_last_frame_timestamp_seconds{target="198.18.16.1"}""", text);
    }

    [Fact]
    public async Task SetState_OneSeriesForTheCurrentState()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new AgentMetrics(registry);
        metrics.SetState("console", TargetState.Unknown);
        metrics.SetState("console", TargetState.Up);
        metrics.SetState("console", TargetState.Deaf);
        metrics.SetState("console", TargetState.Deaf);
        metrics.SetState("router", TargetState.Up);
        var states = (await Scrape(registry)).Split('\n').Where(l => l.StartsWith("reachprobe_target_state{", StringComparison.Ordinal)).ToList();
        Assert.Equal(["reachprobe_target_state{target=\"console\",state=\"deaf\"} 1", "reachprobe_target_state{target=\"router\",state=\"up\"} 1"], states.Order());

        metrics.Forget("console");
        metrics.SetState("console", TargetState.Down); // a target added again starts afresh
        states = (await Scrape(registry)).Split('\n').Where(l => l.StartsWith("reachprobe_target_state{target=\"console\"", StringComparison.Ordinal)).ToList();
        Assert.Equal(["reachprobe_target_state{target=\"console\",state=\"down\"} 1"], states);
    }

    [Fact]
    public async Task Evidence_CountsWhatIsWrong_NotTheAnswersOfAHealthyExchange()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new AgentMetrics(registry);
        foreach (var kind in Enum.GetValues<EvidenceKind>()) metrics.Evidence("console", kind);
        var signatures = (await Scrape(registry)).Split('\n')
            .Where(l => l.StartsWith("reachprobe_wire_evidence_total{", StringComparison.Ordinal))
            .Select(l => l.Split("signature=\"")[1].Split('"')[0]).ToHashSet();
        foreach (var s in new[] { "echo_unanswered", "arp_unanswered", "dns_repeated_after_answer", "syn_retransmitted_after_synack", "arp_repeated_after_reply",
                     "gratuitous_arp", "silence", "address_conflict", "mac_changed", "flood" })
            Assert.Contains(s, signatures);
        foreach (var s in new[] { "echo_answered", "arp_answered", "tcp_answered", "frame_from_target", "probe_answered", "probe_unanswered", "monitor_blind" })
            Assert.DoesNotContain(s, signatures);
    }

    [Fact]
    public async Task Forget_RemovesEverySeriesOfTheTarget_WhateverTheMetric_AndNoOtherTargets()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new AgentMetrics(registry);
        foreach (var target in new[] { "console", "router" })
        {
            Healthy(metrics, target, new Random(1));
            metrics.Probe(target, new ProbeResult("icmp", ProbeStatus.Timeout, TimeSpan.FromSeconds(1), "timeout"));
            foreach (var kind in Enum.GetValues<EvidenceKind>()) metrics.Evidence(target, kind);
            metrics.IncidentEnded(target, "deaf", "7.00", TimeSpan.FromMinutes(3));
            metrics.Conflicts(target, "02:00:00:00:00:99", 3);
            metrics.Flooded(target, "echo_unanswered", 500);
        }
        var before = await Scrape(registry);
        // Every metric with a target label has a series for the console, so the test covers them all.
        var perTarget = before.Split('\n').Where(l => l.Contains("{target=\"console\"", StringComparison.Ordinal))
            .Select(l => l[..l.IndexOf('{')]).Select(n => n.EndsWith("_bucket", StringComparison.Ordinal) || n.EndsWith("_sum", StringComparison.Ordinal) || n.EndsWith("_count", StringComparison.Ordinal) ? n[..n.LastIndexOf('_')] : n)
            .ToHashSet();
        var declared = before.Split('\n').Where(l => l.StartsWith("# TYPE reachprobe_", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToList();
        Assert.True(perTarget.Count >= 12, string.Join(", ", perTarget));

        metrics.Forget("console");
        var after = await Scrape(registry);
        Assert.DoesNotContain("target=\"console\"", after);
        foreach (var name in perTarget) Assert.Matches($"(?m)^{name}(_sum|_count|_bucket)?{{target=\"router\"", after);
        Assert.All(declared, d => Assert.Contains($"# TYPE {d} ", after));
    }

    [Fact]
    public async Task BuildInfo_SaysTheVersionCommitAndRuntime_AndSurvivesForgettingATarget()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new AgentMetrics(registry);
        metrics.SetState("console", TargetState.Up);
        metrics.Forget("console");
        var line = Assert.Single((await Scrape(registry)).Split('\n'), l => l.StartsWith("reachprobe_build_info{", StringComparison.Ordinal));
        Assert.Matches(@"^reachprobe_build_info\{version=""\d+\.\d+\.\d+"",commit=""([0-9a-f]{12}|unknown)"",runtime="".NET 10\.\d+\.\d+\S* linux-\w+""\} 1$", line);
        Assert.Contains($"version=\"{BuildInfo.Version}\"", line);
    }

    [Fact]
    public async Task ProbeResults_BeyondTheQueue_AreCountedAsDropped()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new AgentMetrics(registry);
        var evidence = new ProbeEvidence(new Dictionary<string, UInt128[]> { ["console"] = [0xC612001B] }, metrics, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeProvider.System);
        var probe = new ScheduledProbe("console", new IcmpProbe(System.Net.IPAddress.Parse("198.18.0.27")), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        // The loop is stalled (never polled): the queue holds its capacity, and every result past it pushes one out.
        for (var i = 0; i < ProbeEvidence.QueueCapacity + 10; i++)
            evidence.Record(probe, new ProbeResult("icmp", ProbeStatus.Answered, TimeSpan.FromMilliseconds(1), "echo reply"), DateTimeOffset.UnixEpoch);
        Assert.Contains("reachprobe_probe_results_dropped_total 10\n", await Scrape(registry));
    }

    [Fact]
    public async Task TargetInfo_CarriesTheTargetsOwnLabels_EmptyWhereItHasNone()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new AgentMetrics(registry, ["model", "room"]);
        metrics.Info("console", metrics.InfoValues("198.18.0.27", "02:00:00:00:00:27", "PS4", "7.02", new Dictionary<string, string> { ["room"] = "living", ["model"] = "PS5" }), null);
        metrics.Info("router", metrics.InfoValues("198.18.0.1", null, null, null, new Dictionary<string, string> { ["room"] = "hall" }), null);
        using var ms = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(ms);
        var text = System.Text.Encoding.UTF8.GetString(ms.ToArray());
        Assert.Contains("""reachprobe_target_info{target="console",ip="198.18.0.27",mac="02:00:00:00:00:27",host_type="PS4",firmware="7.02",model="PS5",room="living"} 1""", text);
        Assert.Contains("""reachprobe_target_info{target="router",ip="198.18.0.1",mac="",host_type="",firmware="",model="",room="hall"} 1""", text);
    }
}
