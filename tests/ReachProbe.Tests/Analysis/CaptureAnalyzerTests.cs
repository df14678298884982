using ReachProbe.Analysis;
using Xunit.Abstractions;

namespace ReachProbe.Tests.Analysis;

/// <summary>Generated captures with planted incidents: analyze must recover each (start within 3 s, end within 2 s) and raise none on a healthy host.</summary>
public sealed class CaptureAnalyzerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reachprobe-analyze-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> PlantedScenarios => ["field-report", "field-report-ipv6", "lab-phases", "lab-phase3", "down-host", "switch-port-deaf", "switch-port-down"];

    private static Scenario Make(string name) => name switch
    {
        "field-report" => Scenarios.FieldReport(),
        "field-report-ipv6" => Scenarios.FieldReportIPv6(),
        "lab-phases" => Scenarios.LabPhases(),
        "lab-phase3" => Scenarios.LabPhase3Only(),
        "down-host" => Scenarios.DownHost(),
        "healthy-loss" => Scenarios.HealthyWithLoss(),
        "switch-port-deaf" => Scenarios.SwitchPortDeaf(),
        "switch-port-down" => Scenarios.SwitchPortDown(),
        _ => throw new ArgumentException(name),
    };

    private AnalysisResult Analyze(Scenario s, IReadOnlyDictionary<UInt128, ulong>? targets = null, CaptureView? view = null)
    {
        var path = s.WriteTo(Path.Combine(_dir, s.Name + ".pcap"));
        var result = CaptureAnalyzer.AnalyzeFile(path, new AnalysisOptions { Targets = targets, View = view });
        var text = new StringWriter();
        ReportWriter.WriteText(result, text);
        output.WriteLine(text.ToString());
        return result;
    }

    [Theory]
    [MemberData(nameof(PlantedScenarios))]
    public void AnalyzeFile_PlantedIncident_IsRecovered(string name)
    {
        var s = Make(name);
        var result = Analyze(s);
        Assert.Null(result.Error);
        var start = result.FirstTime!.Value;
        foreach (var planted in s.Planted)
        {
            var ip = TestFrames.Key(planted.TargetIp);
            var target = Assert.Single(result.Targets, t => t.Ip == ip);
            var incident = Assert.Single(target.Incidents);
            Assert.Equal(planted.State, incident.State.Name());
            // Offsets are measured from the scenario's time zero, not the first packet.
            var zero = s.Start.Ticks;
            Assert.InRange((incident.Start - zero) / 1e7, planted.StartSeconds - 3, planted.StartSeconds + 3);
            if (planted.EndSeconds is { } end)
            {
                Assert.NotNull(incident.End);
                Assert.InRange((incident.End!.Value - zero) / 1e7, end - 2, end + 2);
                Assert.Equal(TargetState.Up, target.FinalState);
            }
            else
            {
                Assert.Null(incident.End);
            }
            _ = start;
        }
    }

    [Fact]
    public void AnalyzeFile_FieldReport_HasEverySignatureTheReportDescribes()
    {
        var result = Analyze(Scenarios.FieldReport());
        var console = Assert.Single(result.Targets, t => t.Ip == TestFrames.Ip(Scenarios.GameConsole.Ip));
        var e = Assert.Single(console.Incidents).Evidence;
        Assert.True(e[EvidenceKind.EchoUnanswered] >= 200, $"echo unanswered {e[EvidenceKind.EchoUnanswered]}");
        Assert.True(e[EvidenceKind.ArpForTargetUnanswered] - e.ArpUnansweredBroadcast >= 3);
        Assert.True(e.ArpUnansweredBroadcast > 0);
        Assert.True(e.FirstArpUnicast < e.FirstArpBroadcast);
        Assert.True(e[EvidenceKind.DnsRepeatedAfterAnswer] > 10);
        Assert.True(e[EvidenceKind.SynRetransmittedAfterSynAck] > 5);
        Assert.Equal(1, e[EvidenceKind.GratuitousArp]);
        Assert.True(e[EvidenceKind.FrameFromTarget] > 0);
        Assert.Equal(Addresses.Mac(TestFrames.Mac(Scenarios.GameConsole.Mac)), Addresses.Mac(console.Mac));
    }

    [Fact]
    public void AnalyzeFile_FieldReportOverIPv6_FindsWhatIPv4Finds()
    {
        var v4 = Analyze(Scenarios.FieldReport());
        var v6 = Analyze(Scenarios.FieldReportIPv6());
        var console4 = Assert.Single(v4.Targets, t => t.Ip == TestFrames.Ip(Scenarios.GameConsole.Ip));
        var console6 = Assert.Single(v6.Targets, t => t.Ip == TestFrames.Key("2001:db8:1::27"));
        Assert.Equal(console4.Mac, console6.Mac);
        Assert.Equal(console4.Incidents.Select(i => (i.State, i.Start, i.End)), console6.Incidents.Select(i => (i.State, i.Start, i.End)));
        var (e4, e6) = (Assert.Single(console4.Incidents).Evidence, Assert.Single(console6.Incidents).Evidence);
        foreach (var kind in Enum.GetValues<EvidenceKind>())
            Assert.True(e4[kind] == e6[kind], $"{kind}: {e4[kind]} over IPv4, {e6[kind]} over IPv6");
        Assert.Equal((e4.ArpUnansweredBroadcast, e4.FirstArpUnicast, e4.FirstArpBroadcast), (e6.ArpUnansweredBroadcast, e6.FirstArpUnicast, e6.FirstArpBroadcast));
        // The same hosts are found (the router, asked for by the console; the console), at their IPv6 addresses.
        Assert.Equal(["2001:db8:1::1", "2001:db8:1::27"], v6.Targets.Select(t => Addresses.Ip(t.Ip)).Order());
        Assert.Equal(v4.Counters.EchoRequests, v6.Counters.EchoV6Requests);
        // A gratuitous ARP is a request; its twin, an unsolicited advertisement.
        Assert.Equal(v4.Counters.ArpRequests - v4.Counters.ArpGratuitous, v6.Counters.NdpSolicitations);
        Assert.Equal(v4.Counters.ArpReplies + v4.Counters.ArpGratuitous, v6.Counters.NdpAdvertisements);
        Assert.Equal(v4.Counters.ArpGratuitous, v6.Counters.NdpUnsolicited);
        // The report says it in neighbour discovery's words, and names the family.
        var text = new StringWriter();
        ReportWriter.WriteText(v6, text);
        Assert.Contains("NDP for it unanswered ×3 unicast then ×182 multicast", text.ToString());
        Assert.Contains("unsolicited NA", text.ToString());
        Assert.Contains("up     answered NDP, after 240.5 s deaf", text.ToString());
        Assert.DoesNotContain("ARP", text.ToString().Split('\n').Skip(3).Aggregate("", (a, l) => a + l));
        using var json = new MemoryStream();
        ReportWriter.WriteJson(v6, json);
        var doc = System.Text.Json.JsonDocument.Parse(json.ToArray()).RootElement;
        Assert.Equal("ipv6", doc.GetProperty("targets")[1].GetProperty("family").GetString());
        Assert.Equal(v6.Counters.NdpSolicitations, doc.GetProperty("counts").GetProperty("ndpSolicitations").GetInt64());
    }

    [Fact]
    public void AnalyzeFile_HealthyHostWithLoss_RaisesNoIncident()
    {
        var result = Analyze(Scenarios.HealthyWithLoss());
        var console = Assert.Single(result.Targets, t => t.Ip == TestFrames.Ip(Scenarios.GameConsole.Ip));
        Assert.Empty(console.Incidents);
        Assert.Equal(TargetState.Up, console.FinalState);
        // The loss is real: some echoes did go unanswered.
        Assert.InRange(console.Totals[EvidenceKind.EchoUnanswered], 10, 60);
    }

    [Fact]
    public void AnalyzeFile_Discovery_ReportsOnlyHostsOthersTriedToReach()
    {
        var result = Analyze(Scenarios.FieldReport());
        // The PC and laptop were never pinged or ARPed for; the router was (by the console), the console was.
        Assert.Equal(
            new[] { Scenarios.Router.Ip, Scenarios.GameConsole.Ip }.Order(),
            result.Targets.Select(t => Addresses.Ip(t.Ip)).Order());
        var router = Assert.Single(result.Targets, t => t.Ip == TestFrames.Ip(Scenarios.Router.Ip));
        Assert.Empty(router.Incidents);
        Assert.Equal(TargetState.Up, router.FinalState);
    }

    [Fact]
    public void AnalyzeFile_ExplicitTarget_ReportsOnlyIt()
    {
        var ip = TestFrames.Ip(Scenarios.Laptop.Ip);
        var result = Analyze(Scenarios.FieldReport(), new Dictionary<UInt128, ulong> { [ip] = 0 });
        var t = Assert.Single(result.Targets);
        Assert.Equal(ip, t.Ip);
        Assert.Empty(t.Incidents);
    }

    [Fact]
    public void AnalyzeFile_DeafHealthyDownHealthy_IsOneDeafAndOneDown()
    {
        var s = new Scenario("deaf-then-down");
        bool Hears(double t) => t is < 100 or (>= 160 and < 220) or >= 301;
        bool Sends(double t) => t is < 220 or >= 300;
        var all = new Scenario("all");
        Ping(all, LabProbe, LabConsole, 0x0100, 0.2, 400, 1.0, Hears);
        ArpRefresh(all, LabProbe, LabConsole, 20, 400, 30, Hears, unicastTries: 3, broadcastUntil: 400);
        Scenarios.DnsClient(all, LabConsole, LabRouter, 2, 400, 5, Hears, "console.lan");
        foreach (var (at, frame) in all.Frames())
        {
            var fromConsole = frame.AsSpan(6, 6).SequenceEqual(Convert.FromHexString(LabConsole.Mac.Replace(":", "")));
            if (!fromConsole || Sends(at)) s.Add(at, frame);
        }
        s.Add(300, Frames.GratuitousArp(LabConsole));
        Chatter(s, LabRouter, LabProbe, 1, 400);
        var result = Analyze(s);
        Assert.True(Addresses.TryParseIp(LabConsole.Ip, out var ip));
        var incidents = Assert.Single(result.Targets, t => t.Ip == ip).Incidents;
        Assert.Equal(["deaf", "down"], incidents.Select(i => i.State.Name()));
        Assert.All(incidents, i => Assert.True(i.End > i.Start, $"a {i.State.Name()} incident of {(i.End - i.Start) / 1e4} ms"));
    }

    [Fact]
    public void AnalyzeFile_SwitchPortCapture_IsSeenAsSwitched_AndTheDeafConsoleIsNeverDown()
    {
        var result = Analyze(Scenarios.SwitchPortDeaf());
        Assert.Equal((CaptureView.Switched, true), (result.View.View, result.View.Inferred));
        Assert.Equal(TestFrames.Mac(LabProbe.Mac), result.View.OwnMac);
        var console = Assert.Single(result.Targets, t => t.Ip == TestFrames.Ip(LabConsole.Ip));
        var v = console;
        Assert.DoesNotContain(v.Changes, c => c.State == TargetState.Down);
        Assert.Equal(TargetState.Deaf, Assert.Single(v.Incidents).State);
        var text = new StringWriter();
        ReportWriter.WriteText(result, text);
        Assert.Contains("view: switched (every unicast frame involves 02:00:00:00:00:12, which pings", text.ToString());
    }

    [Fact]
    public void AnalyzeFile_SwitchPortCapture_ReadAsFull_CallsTheQuietDeafConsoleDownFirst()
    {
        // The same capture with --view full: a quiet deaf console looks down until its next who-has — the false
        // "down" that a switched view avoids (the incident is still relabelled deaf once it speaks).
        var result = Analyze(Scenarios.SwitchPortDeaf(), view: CaptureView.Full);
        Assert.Equal("full (--view)", ReportWriter.ViewText(result.View));
        var v = Assert.Single(result.Targets, t => t.Ip == TestFrames.Ip(LabConsole.Ip));
        Assert.Contains(v.Changes, c => c.State == TargetState.Down);
        Assert.DoesNotContain(v.Changes, c => c.State == TargetState.Unresponsive);
    }

    [Fact]
    public void AnalyzeFile_FieldReport_IsReadAsFull()
    {
        var result = Analyze(Scenarios.FieldReport());
        Assert.Equal(CaptureView.Full, result.View.View);
        Assert.True(result.View.Decided);
    }
}
