using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace ReachProbe.Tests.Lab;

/// <summary>A lab with a chatty console and helpers to start the real agent and read its state from /metrics.</summary>
public abstract class AgentLab : IDisposable
{
    protected const int Port = 9942;
    protected static readonly string[] Agent = ["--target", LabNetwork.ConsoleIp, "--interval", "1", "--listen", $"{LabNetwork.ProbeIp}:{Port}"];
    private readonly ITestOutputHelper _output;

    protected AgentLab(ITestOutputHelper output, LabTopology topology = LabTopology.Bridge, bool chatter = true, LabIPv6 ipv6 = LabIPv6.Off)
    {
        _output = output;
        LabNet = Lab.Create(output, topology, ipv6);
        if (chatter) LabNet.StartChatter();
    }

    protected LabNetwork LabNet { get; }

    /// <summary>The test's output.</summary>
    protected ITestOutputHelper Output => _output;

    public void Dispose()
    {
        lock (LabNet.AgentLog) _output.WriteLine("agent log:\n" + LabNet.AgentLog);
        LabNet.Dispose();
        GC.SuppressFinalize(this);
    }

    protected string? Metrics() => AgentState.Metrics(LabNet, Port);

    protected string? State() => AgentState.Of(LabNet, Port);

    /// <summary>
    /// Waits until the agent says the console is up and — inline — that it sees the full view: an agent that has just
    /// started does not yet know where it stands, and until it does a console that falls silent is honestly
    /// unresponsive, not down (faults are injected into an agent that has settled, as a user's has).
    /// </summary>
    protected void WaitForAgent(TimeSpan? limit = null) => AgentState.WaitForSettled(LabNet, limit ?? TimeSpan.FromSeconds(30), Port);

    /// <summary>Polls the state for <paramref name="duration"/>; returns every state seen.</summary>
    protected List<string?> Watch(TimeSpan duration)
    {
        var seen = new List<string?>();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < duration)
        {
            var s = State();
            if (seen.Count == 0 || seen[^1] != s) seen.Add(s);
            Thread.Sleep(200);
        }
        return seen;
    }

    /// <summary>Polls the state until it is <paramref name="want"/>; returns every state seen on the way.</summary>
    protected List<string?> WaitFor(string want, TimeSpan limit) => AgentState.WaitFor(LabNet, want, limit, Port);

    protected void WaitForMetric(string line, TimeSpan limit)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < limit)
        {
            if ((Metrics() ?? "").Contains(line, StringComparison.Ordinal)) return;
            Thread.Sleep(100);
        }
        Assert.Fail($"not on /metrics within {limit}: {line}\n{Metrics()}");
    }


    protected string? StateOf(string target) =>
        Metrics() is { } m && Regex.Match(m, $"^reachprobe_target_state\\{{target=\"{Regex.Escape(target)}\",state=\"(\\w+)\"\\}} 1$", RegexOptions.Multiline) is { Success: true } s ? s.Groups[1].Value : null;

    protected void WaitForState(string target, string want, TimeSpan limit)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var seen = new List<string?>();
        while (watch.Elapsed < limit)
        {
            var s = StateOf(target);
            if (seen.Count == 0 || seen[^1] != s) seen.Add(s);
            if (s == want) return;
            Thread.Sleep(200);
        }
        Assert.Fail($"{target} was not '{want}' within {limit}; seen: {string.Join(" → ", seen)}");
    }
}

/// <summary>The console's state as a lab's agent tells it on /metrics — for tests with one lab or several.</summary>
internal static partial class AgentState
{
    public static string? Metrics(LabNetwork lab, int port = 9942) => lab.HttpGet(LabNetwork.ProbeIp, port, "/metrics");

    public static string? Of(LabNetwork lab, int port = 9942)
    {
        var m = Metrics(lab, port);
        return m is null ? null : StateLine().Match(m) is { Success: true } s ? s.Groups[1].Value : null;
    }

    /// <summary>Waits until the console is up and, on the bridge, the agent sees the full view (see AgentLab.WaitForAgent).</summary>
    public static void WaitForSettled(LabNetwork lab, TimeSpan limit, int port = 9942)
    {
        WaitFor(lab, "up", limit, port);
        if (lab.Topology != LabTopology.Bridge) return;
        var watch = Stopwatch.StartNew();
        string? m = null;
        while (watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            m = Metrics(lab, port);
            if (m is not null && m.Contains("""reachprobe_capture_view{interface="br0",view="full"} 1""", StringComparison.Ordinal)) return;
            Thread.Sleep(200);
        }
        Assert.Fail($"the agent on the bridge did not see the full view within 30 s; last exposition:\n{m}");
    }

    /// <summary>Polls the state until it is <paramref name="want"/>; returns every state seen on the way.</summary>
    public static List<string?> WaitFor(LabNetwork lab, string want, TimeSpan limit, int port = 9942)
    {
        var seen = new List<string?>();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < limit)
        {
            var s = Of(lab, port);
            if (seen.Count == 0 || seen[^1] != s) seen.Add(s);
            if (s == want) return seen;
            Thread.Sleep(200);
        }
        Assert.Fail($"state was not '{want}' within {limit}; seen: {string.Join(" → ", seen)}");
        return seen;
    }

    // The console, by its address, by its MAC (a target given by its MAC alone), by the name a test gives it, or by the
    // name it gives itself (discovered).
    [GeneratedRegex("""^reachprobe_target_state\{target="(?:198\.18\.0\.27|2001:db8::27|02:00:00:00:00:27|console|PS4-LAB)",state="(\w+)"\} 1$""", RegexOptions.Multiline)]
    private static partial Regex StateLine();
}
