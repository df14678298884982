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
