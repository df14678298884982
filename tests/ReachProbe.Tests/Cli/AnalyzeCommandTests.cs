using System.Diagnostics;
using System.Text.Json;
using ReachProbe.Cli;

namespace ReachProbe.Tests.Cli;

public sealed class AnalyzeCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reachprobe-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Invoke(args);

    private string FieldReport() => Scenarios.FieldReport().WriteTo(Path.Combine(_dir, "field-report.pcap"));

    [Fact]
    public void Analyze_FieldReport_PrintsTheReportsTimeline()
    {
        var (code, stdout, stderr) = Run("analyze", FieldReport(), "--quiet");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var lines = stdout.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("target 192.168.1.27  mac 00:d9:d1:79:4d:be  1 deaf, 0 down"));
        var deaf = Assert.Single(lines, l => l.Contains(" deaf   "));
        Assert.StartsWith("    757.5 s  20:12:37.500  deaf   echo unanswered ×", deaf);
        Assert.Contains("ARP for it unanswered ×3 unicast then ×", deaf);
        Assert.Contains("DNS query repeated after answer ×", deaf);
        Assert.Contains("SYN retransmitted after SYN/ACK ×", deaf);
        Assert.Contains(lines, l => l == "    997.3 s  20:16:37.300  gratuitous ARP");
        Assert.Contains(lines, l => l.StartsWith("    998.0 s  20:16:38.000  up     ") && l.EndsWith("after 240.5 s deaf"));
    }

    [Fact]
    public void Analyze_Json_HasTheDocumentedShape()
    {
        var (code, stdout, _) = Run("analyze", FieldReport(), "--json", "--target", "192.168.1.27");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.EndsWith("field-report.pcap", root.GetProperty("file").GetString());
        Assert.True(root.GetProperty("packets").GetInt64() > 4000);
        Assert.InRange(root.GetProperty("durationSeconds").GetDouble(), 1099, 1100);
        Assert.True(root.GetProperty("complete").GetBoolean());
        var target = Assert.Single(root.GetProperty("targets").EnumerateArray());
        Assert.Equal("192.168.1.27", target.GetProperty("ip").GetString());
        Assert.Equal("00:d9:d1:79:4d:be", target.GetProperty("mac").GetString());
        var incident = Assert.Single(target.GetProperty("incidents").EnumerateArray());
        Assert.Equal("deaf", incident.GetProperty("state").GetString());
        Assert.Equal("2026-03-14T20:12:37.500000Z", incident.GetProperty("start").GetString());
        Assert.Equal("2026-03-14T20:16:38.000300Z", incident.GetProperty("end").GetString());
        Assert.Equal(757.45, incident.GetProperty("startOffsetSeconds").GetDouble(), 3);
        Assert.Equal(997.9503, incident.GetProperty("endOffsetSeconds").GetDouble(), 3);
        var evidence = incident.GetProperty("evidence");
        foreach (var key in new[] { "icmpUnanswered", "arpUnanswered", "dnsRepeatedAfterAnswer", "synRetransmittedAfterSynAck", "arpRepeatedAfterReply", "gratuitousArp", "framesFromTarget" })
            Assert.True(evidence.GetProperty(key).GetInt64() > 0, key);
    }

    [Fact]
    public void Analyze_IPv6Target_ReportsTheReplayedIncident()
    {
        var file = Scenarios.FieldReportIPv6().WriteTo(Path.Combine(_dir, "field-report-ipv6.pcap"));
        var (code, stdout, stderr) = Run("analyze", file, "--quiet", "--target", "2001:db8:1::27=00:d9:d1:79:4d:be");
        Assert.Equal((0, ""), (code, stderr));
        var lines = stdout.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("  IPv6 4907 frames: NDP 241 solicitations / "));
        Assert.Single(lines, l => l.StartsWith("target "));
        Assert.Contains(lines, l => l.StartsWith("target 2001:db8:1::27  mac 00:d9:d1:79:4d:be  1 deaf, 0 down"));
        var deaf = Assert.Single(lines, l => l.Contains(" deaf   "));
        Assert.StartsWith("    757.5 s  20:12:37.500  deaf   echo unanswered ×", deaf);
        Assert.Contains("NDP for it unanswered ×3 unicast then ×", deaf);
        Assert.Contains(lines, l => l == "    997.3 s  20:16:37.300  unsolicited NA");
        var (_, json, _) = Run("analyze", file, "--json", "--target", "2001:db8:1::27");
        var target = Assert.Single(JsonDocument.Parse(json).RootElement.GetProperty("targets").EnumerateArray());
        Assert.Equal(("2001:db8:1::27", "ipv6"), (target.GetProperty("ip").GetString(), target.GetProperty("family").GetString()));
    }

    [Fact]
    public void Analyze_SwitchPortCapture_SaysTheView_AndViewOptionOverridesIt()
    {
        var pcap = Scenarios.SwitchPortDeaf().WriteTo(Path.Combine(_dir, "switch-port.pcap"));
        var (code, stdout, _) = Run("analyze", pcap, "--json", "--quiet");
        Assert.Equal(0, code);
        using (var doc = JsonDocument.Parse(stdout))
        {
            var view = doc.RootElement.GetProperty("view");
            Assert.Equal(("switched", "detected", "02:00:00:00:00:12"),
                (view.GetProperty("view").GetString(), view.GetProperty("source").GetString(), view.GetProperty("capturedBy").GetString()));
            var console = Assert.Single(doc.RootElement.GetProperty("targets").EnumerateArray(), t => t.GetProperty("ip").GetString() == "198.18.0.27");
            Assert.Equal("deaf", Assert.Single(console.GetProperty("incidents").EnumerateArray()).GetProperty("state").GetString());
            Assert.DoesNotContain(console.GetProperty("changes").EnumerateArray(), c => c.GetProperty("state").GetString() == "down");
        }
        (code, stdout, _) = Run("analyze", pcap, "--view", "full", "--quiet");
        Assert.Equal(0, code);
        Assert.Contains("  view: full (--view)", stdout);
        var (bad, _, err) = Run("analyze", pcap, "--view", "mirror");
        Assert.Equal(2, bad);
        Assert.Equal("reachprobe: --view takes auto, full or switched, not 'mirror' (see 'reachprobe analyze --help')", err.Trim());
    }

    [Theory]
    [InlineData(new[] { "analyze" }, "analyze needs a capture file")]
    [InlineData(new[] { "analyze", "a.pcap", "b.pcap" }, "analyze takes one capture file; got 'a.pcap' and 'b.pcap'")]
    [InlineData(new[] { "analyze", "a.pcap", "--frobnicate" }, "unknown option '--frobnicate' for analyze")]
    [InlineData(new[] { "analyze", "a.pcap", "--target", "192.168.1.300" }, "--target '192.168.1.300': '192.168.1.300' is not an IPv4 address")]
    [InlineData(new[] { "analyze", "a.pcap", "--target", "2001:db8::g" }, "--target '2001:db8::g': '2001:db8::g' is not an IPv6 address (such as 2001:db8::27, or fe80::27%br0)")]
    [InlineData(new[] { "analyze", "a.pcap", "--target", "ff02::1" }, "'ff02::1' is a multicast address, not a host's")]
    [InlineData(new[] { "analyze", "a.pcap", "--target", "::" }, "'::' is not a unicast host address (unspecified, loopback or IPv4-compatible)")]
    [InlineData(new[] { "analyze", "a.pcap", "--target", "::ffff:198.18.0.27" }, "'::ffff:198.18.0.27' is an IPv4-mapped address: write 198.18.0.27")]
    [InlineData(new[] { "analyze", "a.pcap", "--target", "2001:db8::1%eth0" }, "'2001:db8::1%eth0' has a zone (%eth0), which only a link-local address (fe80::/10) takes")]
    [InlineData(new[] { "analyze", "a.pcap", "--target", "console" }, "'console' is not an IP address (IPv4 such as 198.18.0.27, or IPv6 such as 2001:db8::27)")]
    [InlineData(new[] { "analyze", "a.pcap", "--target", "224.0.0.251" }, "'224.0.0.251' is not a unicast host address")]
    [InlineData(new[] { "analyze", "a.pcap", "--target", "10.0.0.1=zz" }, "'zz' is not a MAC address")]
    [InlineData(new[] { "analyze", "a.pcap", "--target" }, "--target needs a value")]
    [InlineData(new[] { "analyze", "a.pcap", "--threshold", "0" }, "reachprobe: --threshold takes a whole number (1–100), not '0' (see 'reachprobe analyze --help')")]
    [InlineData(new[] { "analyze", "a.pcap", "--silence", "soon" }, "--silence takes seconds (1–3600), not 'soon'")]
    [InlineData(new[] { "analyze", "a.pcap", "--threshold=2.5" }, "--threshold takes a whole number (1–100), not '2.5'")]
    [InlineData(new[] { "analyze", "a.pcap", "--target", "10.0.0.1=01:00:5e:00:00:01" }, "'01:00:5e:00:00:01' cannot be a host's MAC address (zero, broadcast or multicast)")]
    [InlineData(new[] { "analyze", "a.pcap", "--overdue-floor", "3600", "--overdue-max", "5" }, "reachprobe: --overdue-floor: must not exceed --overdue-max (5), not 3600")]
    [InlineData(new[] { "frobnicate" }, "unknown command 'frobnicate'")]
    public void Run_BadUsage_ExitsTwoWithOneClearLine(string[] args, string expected)
    {
        var (code, stdout, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Analyze_MissingFile_ExitsTwoNamingIt()
    {
        var path = Path.Combine(_dir, "missing.pcap");
        var (code, stdout, stderr) = Run("analyze", path);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal($"reachprobe: {path}: no such file\n", stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Analyze_TruncatedFile_PrintsWhatItCouldThenErrorsWithExitTwo()
    {
        var full = File.ReadAllBytes(FieldReport());
        var cut = Path.Combine(_dir, "cut.pcap");
        File.WriteAllBytes(cut, full[..^25]);
        var (code, stdout, stderr) = Run("analyze", cut, "--json");
        Assert.Equal(2, code);
        using var doc = JsonDocument.Parse(stdout);
        Assert.False(doc.RootElement.GetProperty("complete").GetBoolean());
        Assert.Contains("truncated dump file", doc.RootElement.GetProperty("error").GetString());
        Assert.StartsWith($"reachprobe: {cut}: truncated dump file", stderr);
    }

    [Fact]
    public void Help_ListsAnalyze()
    {
        var (code, stdout, _) = Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("reachprobe analyze FILE", stdout);
    }

    [Fact]
    public void Process_BrokenCapture_PrintsNoStackTrace()
    {
        // The real program, as a person runs it: one line on stderr, exit 2.
        var notPcap = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(notPcap, "not a capture");
        var psi = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "reachprobe.dll"), "analyze", notPcap])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEnd();
        var stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(60_000));
        Assert.Equal(2, p.ExitCode);
        Assert.Equal("", stdout);
        Assert.Equal($"reachprobe: {notPcap}: not a pcap or pcapng file (starts with 0x6E6F7420)", stderr.Trim());
    }
}
