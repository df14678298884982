using Xunit.Abstractions;

namespace ReachProbe.Tests.Lab;

/// <summary>
/// <c>reachprobe probe</c> against the lab console, for each case a person meets: healthy, deaf, unplugged, no such host,
/// closed port, DNS server down — each ends with its verdict line and exit code.
/// </summary>
[Trait("Category", "Lab")]
public sealed class ProbeLabTests(ITestOutputHelper output) : IDisposable
{
    private readonly LabNetwork _lab = Lab.Create(output);

    public void Dispose() => _lab.Dispose();

    private static string Line(string stdout, string probe) =>
        stdout.Split('\n').Single(l => l.StartsWith(probe + ":", StringComparison.Ordinal));

    private const string All = "icmp,arp,dns:console.lan,tcp:9295,ddp";

    private static string Verdict(string stdout) => stdout.TrimEnd().Split('\n')[^1];

    [Fact]
    public void Probe_HealthyConsole_EveryProbeAnswers()
    {
        var (code, stdout, stderr) = _lab.Reachprobe("probe", LabNetwork.ConsoleIp, "--probes", All, "--count", "3", "--interval", "0.2", "--timeout", "3", "--dns-server", LabNetwork.RouterIp);
        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        Assert.StartsWith("icmp:       3/3 answered, loss 0 %, rtt min/avg/max ", Line(stdout, "icmp"));
        Assert.Contains($"is-at {LabNetwork.ConsoleMac}", Line(stdout, "arp"));
        Assert.StartsWith("dns:console.lan: 3/3 answered", Line(stdout, "dns:console.lan"));
        Assert.Contains("NOERROR", Line(stdout, "dns:console.lan"));
        Assert.StartsWith("tcp:9295:   3/3 answered", Line(stdout, "tcp:9295"));
        var ddp = Line(stdout, "ddp");
        Assert.Contains("awake, host-name PS4-LAB, PS4, firmware 7.02 (07020001)", ddp);
        Assert.Equal("verdict: up — answered icmp 3/3, arp 3/3, dns:console.lan 3/3, tcp:9295 3/3, ddp 3/3, its replies seen on the wire", Verdict(stdout));
        Assert.Contains("capturing on br0 (full view)", stdout);
    }

    [Fact]
    public void Probe_HealthyHostThatIsNoConsole_ExitsZero_DiscoveryNotCounted()
    {
        // The router answers ICMP and ARP but is no PlayStation: the default 'ddp' must not make it a failure.
        var (code, stdout, stderr) = _lab.Reachprobe("probe", LabNetwork.RouterIp, "--count", "2", "--interval", "0.2", "--timeout", "0.5");
        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        Assert.StartsWith("ddp:        no answer: not a PlayStation", Line(stdout, "ddp"));
        Assert.StartsWith("verdict: up — ", Verdict(stdout));
        Assert.DoesNotContain("degraded", stdout);
    }

    [Fact]
    public void Probe_DeafConsole_VerdictIsDeaf_WithWhatItSent()
    {
        _lab.StartChatter();
        _lab.MakeDeaf();
        var (code, stdout, _) = _lab.Reachprobe("probe", LabNetwork.ConsoleIp, "--count", "3", "--interval", "0.5", "--timeout", "0.5");
        Assert.Equal(1, code);
        var verdict = Verdict(stdout);
        Assert.StartsWith("verdict: DEAF — transmits (", verdict);
        Assert.EndsWith("but answered none of 6 probe attempts (icmp ×3, arp ×3)", verdict);
    }

    [Fact]
    public void Probe_UnpluggedConsole_VerdictIsDown()
    {
        // The monitor talked to it before (its MAC is in the neighbour table): a silent known host is down, not absent.
        Assert.Equal(0, _lab.Reachprobe("probe", LabNetwork.ConsoleIp, "--probes", "icmp", "--count", "1").Code);
        _lab.LinkDown();
        var (code, stdout, _) = _lab.Reachprobe("probe", LabNetwork.ConsoleIp, "--count", "3", "--interval", "0.5", "--timeout", "0.5");
        Assert.Equal(3, code);
        Assert.StartsWith("verdict: DOWN — silent", Verdict(stdout));
    }

    [Fact]
    public void Probe_AddressWithNothingBehindIt_IsNoSuchHost()
    {
        var (code, stdout, _) = _lab.Reachprobe("probe", "198.18.0.99", "--count", "2", "--interval", "0.5", "--timeout", "0.5", "--json");
        Assert.Equal(5, code);
        using var doc = System.Text.Json.JsonDocument.Parse(stdout);
        var verdict = doc.RootElement.GetProperty("verdict");
        Assert.Equal("no such host", verdict.GetProperty("state").GetString());
        Assert.Equal(5, verdict.GetProperty("exitCode").GetInt32());
        Assert.Equal("br0", verdict.GetProperty("capture").GetString());
        Assert.StartsWith("nothing answered ARP for it and nothing from it was seen", verdict.GetProperty("why").GetString());
        Assert.Equal(4, verdict.GetProperty("evidence").GetProperty("probe_unanswered").GetInt64());
        Assert.Contains("(4 probe attempts (icmp ×2, arp ×2) unanswered)", verdict.GetProperty("why").GetString());
    }

    [Fact]
    public void Probe_ClosedPort_IsRefusedAndCountsAsAlive()
    {
        var (code, stdout, _) = _lab.Reachprobe("probe", LabNetwork.ConsoleIp, "--probes", "tcp:9", "--count", "2", "--interval", "0.1");
        Assert.Equal(0, code);
        Assert.StartsWith("tcp:9:      refused — host receives (×2)", Line(stdout, "tcp:9"));
    }

    [Fact]
    public void Probe_DeafConsole_NothingAnswers_NoFalseSuccess()
    {
        _lab.MakeDeaf();
        var (code, stdout, _) = _lab.Reachprobe("probe", LabNetwork.ConsoleIp, "--probes", "icmp,arp,tcp:9295,ddp,dns@target", "--count", "2", "--interval", "0.1", "--timeout", "0.5");
        Assert.NotEqual(0, code);
        foreach (var probe in new[] { "icmp", "arp", "tcp:9295", "ddp", "dns@target" })
            Assert.Contains(" 0/2 answered", Line(stdout, probe));
        Assert.DoesNotContain("refused", stdout);
        Assert.DoesNotContain("awake", stdout);
    }

    [Fact]
    public void Probe_ConsoleLinkDown_NothingAnswers()
    {
        _lab.LinkDown();
        var (code, stdout, _) = _lab.Reachprobe("probe", LabNetwork.ConsoleIp, "--probes", "icmp,arp,tcp:9295", "--count", "2", "--interval", "0.1", "--timeout", "0.5");
        Assert.NotEqual(0, code);
        Assert.Contains(" 0/2 answered", Line(stdout, "icmp"));
        Assert.Contains(" 0/2 answered (timeout ×2)", Line(stdout, "arp"));
    }

    [Fact]
    public void Probe_DnsServerDown_IsReportedAsAResolverProblem()
    {
        _lab.StopDns();
        var (code, stdout, _) = _lab.Reachprobe("probe", LabNetwork.ConsoleIp, "--probes", "icmp,dns:console.lan", "--count", "2", "--interval", "0.1", "--timeout", "0.5", "--dns-server", LabNetwork.RouterIp);
        Assert.Equal(0, code); // the console answers: the resolver's failure is not the console's
        Assert.StartsWith("icmp:       2/2 answered", Line(stdout, "icmp"));
        var dns = Line(stdout, "dns:console.lan");
        Assert.Contains("0/2 answered", dns);
        Assert.Contains("the resolver does not answer: a resolver problem, not the target", dns);
    }

    [Fact]
    public void Probe_ConsoleInStandby_AnswersDiscoveryWith620()
    {
        _lab.DdpStatus = 620;
        var (code, stdout, _) = _lab.Reachprobe("probe", LabNetwork.ConsoleIp, "--probes", "ddp", "--count", "1", "--json");
        Assert.Equal(0, code);
        using var doc = System.Text.Json.JsonDocument.Parse(stdout);
        var console = doc.RootElement.GetProperty("probes")[0].GetProperty("results")[0].GetProperty("console");
        Assert.Equal(620, console.GetProperty("statusCode").GetInt32());
        Assert.Equal("standby", console.GetProperty("status").GetString());
        Assert.Equal("7.02", console.GetProperty("firmware").GetString());
    }
}
