using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace ReachProbe.Tests.Lab;

/// <summary>
/// Two hundred answering addresses on a veth (issue 12's lab, small enough for CI), icmp and arp every second: every
/// target up, no false timeout, faults reported within seconds without touching the healthy ones, a clean stop.
/// </summary>
[Trait("Category", "Lab")]
public sealed partial class ScaleLabTests(ITestOutputHelper output) : IDisposable
{
    private const int N = 200;
    private readonly StringBuilder _log = new();
    private ScaleLab? _lab;

    public void Dispose()
    {
        lock (_log) output.WriteLine("agent log:\n" + _log);
        _lab?.Dispose();
    }

    private static Dictionary<string, string> States(string metrics) =>
        StateLine().Matches(metrics).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

    private static double Timeouts(string metrics) =>
        TimeoutLine().Matches(metrics).Sum(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));

    [Fact]
    public void Run_TwoHundredTargets_AllUp_NoFalseTimeouts_FaultsWithinSeconds_StopsWithinTwoSeconds()
    {
        try
        {
            _lab = ScaleLab.Create(N);
        }
        catch (LabUnavailableException e)
        {
            Assert.Fail(e.Message);
        }
        var lab = _lab!;
        var (launcher, pid) = lab.StartAgent(Path.Combine(AppContext.BaseDirectory, "reachprobe.dll"), lab.WriteConfig("icmp", "arp"), _log);

        // Up within 5 s of the endpoint answering.
        var watch = Stopwatch.StartNew();
        while (lab.Scrape().Text is null && watch.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(100);
        watch.Restart();
        Dictionary<string, string> states = [];
        while (watch.Elapsed < TimeSpan.FromSeconds(5))
        {
            states = States(lab.Scrape().Text ?? "");
            if (states.Count(s => s.Value == "up") == N) break;
            Thread.Sleep(200);
        }
        Assert.True(states.Count(s => s.Value == "up") == N,
            $"{states.Count(s => s.Value == "up")} of {N} up after {watch.Elapsed.TotalSeconds:0.0} s; others: {string.Join(", ", states.Where(s => s.Value != "up").Take(10))}");

        // 30 s healthy: no probe times out (every reply is on the wire) and no target leaves up.
        var before = Timeouts(lab.Scrape().Text!);
        watch.Restart();
        while (watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            var now = States(lab.Scrape().Text ?? "");
            Assert.True(now.All(s => s.Value == "up"), "left up while healthy: " + string.Join(", ", now.Where(s => s.Value != "up")));
            Thread.Sleep(1000);
        }
        var m = lab.Scrape().Text!;
        Assert.Equal(0, Timeouts(m) - before);

        // Five made deaf, five removed: each reported within 5 s; the other 190 stay up.
        var deaf = lab.Targets.Take(5).ToList();
        var removed = lab.Targets.Skip(100).Take(5).ToList();
        var healthy = lab.Targets.Except(deaf).Except(removed).ToHashSet();
        lab.Deafen(deaf);
        lab.Remove(removed);
        watch.Restart();
        HashSet<string> reported = [];
        while (watch.Elapsed < TimeSpan.FromSeconds(5) && reported.Count < 10)
        {
            states = States(lab.Scrape().Text ?? "");
            Assert.True(healthy.All(h => states.GetValueOrDefault(h) == "up"), "a healthy target left up: " + string.Join(", ", states.Where(s => healthy.Contains(s.Key) && s.Value != "up")));
            reported = deaf.Concat(removed).Where(t => states.GetValueOrDefault(t) is not (null or "up" or "unknown")).ToHashSet();
            Thread.Sleep(200);
        }
        Assert.True(reported.Count == 10, $"reported within 5 s: {reported.Count} of 10: {string.Join(", ", deaf.Concat(removed).Select(t => $"{t}={states.GetValueOrDefault(t)}"))}");
        // The agent's end of a veth sees only its own conversations: a switched view. A deafened or removed address sends
        // nothing of its own (the host's other addresses answer for themselves), so each is unresponsive — honestly not
        // yet told deaf from down.
        Assert.Contains("""reachprobe_capture_view{interface="sa0",view="switched"} 1""", lab.Scrape().Text);
        // One of them may be deaf rather than unresponsive: all 200 addresses share one MAC, and frames from that MAC are
        // routed to whichever address the MAC was learned for last — it then sees the host transmit, which is true.
        Assert.All(deaf.Concat(removed), t => Assert.Contains(states[t], new[] { "unresponsive", "deaf" }));

        // SIGTERM: gone within 2 s.
        var stop = Stopwatch.StartNew();
        Process.Start("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        while (File.Exists($"/proc/{pid}/stat") && stop.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(20);
        Assert.True(stop.Elapsed < TimeSpan.FromSeconds(2), $"SIGTERM took {stop.Elapsed.TotalSeconds:0.00} s");
        launcher.WaitForExit(5000);
        Assert.Equal(0, launcher.ExitCode);
    }

    [GeneratedRegex("""^reachprobe_target_state\{target="([\d.]+)",state="(\w+)"\} 1$""", RegexOptions.Multiline)]
    private static partial Regex StateLine();

    [GeneratedRegex("""^reachprobe_probes_total\{[^}]*result="timeout"[^}]*\} ([\d.e+]+)$""", RegexOptions.Multiline)]
    private static partial Regex TimeoutLine();
}
