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
        metrics.Info(target, target, "02:00:00:00:00:27", "", "", null);
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
}
