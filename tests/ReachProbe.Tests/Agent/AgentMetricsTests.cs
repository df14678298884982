using Prometheus;
using ReachProbe.Agent;
using ReachProbe.Probes;

namespace ReachProbe.Tests.Agent;

/// <summary>The exposition's size at a venue's scale.</summary>
public class AgentMetricsTests
{
    [Fact]
    public async Task AThousandTargets_ScrapeUnderOneMegabyteGzipped()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new AgentMetrics(registry);
        for (var i = 0; i < 1000; i++)
        {
            var target = $"198.18.{i / 250}.{1 + i % 250}";
            metrics.SetState(target, TargetState.Up);
            metrics.StateChanged(target, TargetState.Up);
            metrics.Info(target, target, "02:00:00:00:00:27", "", "", null);
            foreach (var probe in new[] { "icmp", "arp" })
            {
                metrics.Probe(target, new ProbeResult(probe, ProbeStatus.Answered, TimeSpan.FromMilliseconds(0.4), "ok"));
            }
            metrics.Evidence(target, EvidenceKind.FrameFromTarget);
            metrics.Evidence(target, EvidenceKind.EchoAnswered);
            metrics.LastFrame(target, TestFrames.T0);
        }
        using var s = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(s);
        // Uncompressed, a healthy thousand-target scrape is about 1.3 MB (19 series a target); gzip, which Prometheus
        // asks for and the endpoint serves, brings it far under 1 MB.
        Assert.InRange(s.Length, 500_000, 2_000_000);
        using var gz = new MemoryStream();
        using (var zip = new System.IO.Compression.GZipStream(gz, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)) s.WriteTo(zip);
        Assert.InRange(gz.Length, 1, 1_000_000);
    }
}
