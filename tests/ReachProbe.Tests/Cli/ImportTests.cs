using ReachProbe.Verdict;
using ReachProbe.Cli;
using ReachProbe.History;

namespace ReachProbe.Tests.Cli;

public sealed class ImportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reachprobe-import-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Invoke(args);

    [Fact]
    public void Analyze_Import_AddsTheCapturesIncidentsOnce()
    {
        var pcap = Scenarios.FieldReport().WriteTo(Path.Combine(_dir, "field-report.pcap"));
        var db = Path.Combine(_dir, "history.db");
        var (code, _, stderr) = Run("analyze", pcap, "--quiet", "--import", "--db", db, "--firmware", "6.72");
        Assert.Equal(0, code);
        Assert.Equal($"reachprobe: imported 1 incident(s) into {db} with firmware 6.72", stderr.Trim());
        (code, _, stderr) = Run("analyze", pcap, "--quiet", "--import", "--db", db, "--firmware", "6.72");
        Assert.Equal(0, code);
        Assert.Contains("was imported into", stderr);

        using var store = HistoryStore.Open(db);
        var i = Assert.Single(store.Incidents(DateTimeOffset.UnixEpoch));
        Assert.Equal(("192.168.1.27", "deaf", "6.72", "recovered", "import"), (i.Target, i.State, i.Firmware, i.EndReason, i.Source));
        Assert.InRange(i.Duration!.Value.TotalSeconds, 238, 243);
        Assert.True(i.Count(EvidenceKind.DnsRepeatedAfterAnswer) > 0 && i.Count(EvidenceKind.SynRetransmittedAfterSynAck) > 0 && i.Count(EvidenceKind.EchoUnanswered) > 0);
        var period = Assert.Single(store.Observed());
        Assert.InRange((period.End - period.Start).TotalSeconds, 1099, 1100);
    }

    [Fact]
    public void Analyze_Labels_OnEachTargetInTheJson_AndInTheHistoryOnImport()
    {
        var pcap = Scenarios.FieldReport().WriteTo(Path.Combine(_dir, "field-report.pcap"));
        var (code, json, _) = Run("analyze", pcap, "--json", "--quiet", "--target", "192.168.1.27", "--label", "room=living", "--label", "model=PS5");
        Assert.Equal(0, code);
        var target = System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("targets")[0];
        Assert.Equal("living", target.GetProperty("labels").GetProperty("room").GetString());
        Assert.Equal("PS5", target.GetProperty("labels").GetProperty("model").GetString());
        // None given: no "labels" at all (the shape as before).
        (_, json, _) = Run("analyze", pcap, "--json", "--quiet", "--target", "192.168.1.27");
        Assert.False(System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("targets")[0].TryGetProperty("labels", out _));

        var db = Path.Combine(_dir, "history.db");
        (code, _, _) = Run("analyze", pcap, "--quiet", "--target", "192.168.1.27", "--import", "--db", db, "--label", "room=living");
        Assert.Equal(0, code);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var o = new StringWriter();
        Assert.Equal(0, ReportCommand.Run(["--db", db, "--by", "label:room", "--since", "1000w"], o, new StringWriter()));
        Assert.Matches(@"(?m)^living\s+\S+\s+1\s", o.ToString());
    }

    [Theory]
    [InlineData("room", "write it NAME=VALUE")]
    [InlineData("9room=x", "not a Prometheus label name")]
    [InlineData("__x=y", "not a Prometheus label name")]
    [InlineData("firmware=7.02", "is ReachProbe's own label")]
    [InlineData("room=", "must be 1–128 characters")]
    public void Analyze_BadLabel_OneLineNamingIt_NothingRead(string label, string problem)
    {
        var (code, stdout, stderr) = Run("analyze", "never-read.pcap", "--label", label);
        Assert.Equal((2, ""), (code, stdout));
        Assert.Contains($"--label '{label}'", stderr);
        Assert.Contains(problem, stderr);
        Assert.DoesNotContain("never-read.pcap", stderr);
    }

    [Fact]
    public void Analyze_SameLabelTwice_OrTooMany_Refused()
    {
        var (code, _, stderr) = Run("analyze", "x.pcap", "--label", "room=a", "--label", "room=b");
        Assert.Equal(2, code);
        Assert.Contains("--label 'room' is given twice", stderr);
        (code, _, stderr) = Run(["analyze", "x.pcap", .. Enumerable.Range(0, 17).SelectMany(i => new[] { "--label", $"l{i}=v" })]);
        Assert.Equal(2, code);
        Assert.Contains("more than 16 labels", stderr);
    }

    [Fact]
    public void Analyze_DbWithoutImport_IsBadUsage()
    {
        var (code, _, stderr) = Run("analyze", "x.pcap", "--db", "h.db");
        Assert.Equal(2, code);
        Assert.Contains("--db and --firmware go with --import", stderr);
    }

    [Fact]
    public void Analyze_ImportIntoADevice_IsOneLine_NothingWrittenBesideIt()
    {
        // SQLite used to open /dev/zero and write /dev/zero-journal beside it.
        var pcap = Scenarios.FieldReport().WriteTo(Path.Combine(_dir, "field-report.pcap"));
        var (code, _, stderr) = Run("analyze", pcap, "--quiet", "--import", "--db", "/dev/zero");
        Assert.Equal(2, code);
        Assert.Equal("reachprobe: /dev/zero: a device, a pipe or a socket, not a file: give a file for the history database", stderr.Trim());
        Assert.False(File.Exists("/dev/zero-journal"));
    }
}
