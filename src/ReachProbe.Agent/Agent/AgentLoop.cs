using System.Net;
using Microsoft.Extensions.Logging;
using ReachProbe.Analysis;
using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Agent;

/// <summary>
/// The live agent's analysis, wired: the engine's <see cref="AnalysisLoop"/> fed by the live capture
/// (<see cref="CaptureMonitor"/>) and the probes (<see cref="ProbeEvidence"/>), observed by metrics, the log and the
/// history (<see cref="AgentObserver"/>). <see cref="AgentService"/> builds it with the real capture and clock; tests
/// build it with a replayed capture, scripted probe results and a fake clock.
/// </summary>
public sealed class AgentLoop : IDisposable
{
    private readonly HistoryRecorder _history;
    private readonly CaptureMonitor _capture;

    private AgentLoop(AnalysisLoop loop, ProbeEvidence probes, CaptureMonitor capture, HistoryRecorder history)
    {
        Loop = loop;
        Probes = probes;
        _capture = capture;
        _history = history;
    }

    /// <summary>The loop.</summary>
    public AnalysisLoop Loop { get; }

    /// <summary>Where the probe jobs hand their results.</summary>
    public ProbeEvidence Probes { get; }

    /// <summary>The pipeline's host for a target address, or null.</summary>
    public HostMonitor? Host(IPAddress ip) => Loop.Pipeline.Find(Addresses.ToUInt(ip));

    /// <summary>Wires the agent's analysis and opens the history (a start mark is written).</summary>
    /// <param name="config">Targets, thresholds, history path.</param>
    /// <param name="captureInterface">Interface for metrics and logs.</param>
    /// <param name="filter">The capture's BPF filter (logged).</param>
    /// <param name="createCapture">Makes a capture to open (a new one after each failure).</param>
    /// <param name="ownCarrier">The monitor's own link carrier.</param>
    /// <param name="targetLinks">The carrier behind each target's MAC, when capturing on a bridge.</param>
    /// <param name="monitorAddress">The monitor's own IPv4 address, whose requests the probe results count.</param>
    /// <param name="metrics">Metrics.</param>
    /// <param name="log">Log.</param>
    /// <param name="time">The clock.</param>
    /// <param name="probes">Where probe results are handed over, when the probe jobs start before the loop is wired; else a new one.</param>
    public static AgentLoop Create(AgentConfig config, string captureInterface, string filter, Func<ILiveSource> createCapture, Func<bool> ownCarrier,
        ITargetLinks? targetLinks, uint? monitorAddress, AgentMetrics metrics, ILogger log, TimeProvider time, ProbeEvidence? probes = null)
    {
        var configOf = new Dictionary<uint, TargetConfig>();
        var targets = new Dictionary<uint, ulong>();
        foreach (var t in config.Targets)
        {
            var ip = Addresses.ToUInt(t.Ip);
            configOf[ip] = t;
            targets[ip] = t.Mac is not null && Addresses.TryParseMac(t.Mac, out var mac) ? mac : 0;
        }
        var history = new HistoryRecorder(config.History, metrics, log);
        history.Start(time.GetUtcNow());
        foreach (var t in config.Targets) history.Firmware(t.Name, t.Firmware, time.GetUtcNow());
        var pipeline = new WirePipeline(config.Thresholds, time, targets);
        if (monitorAddress is { } own) pipeline.Monitor = own;

        var observer = new AgentObserver(configOf, metrics, history, log, time);
        probes ??= NewProbeEvidence(config, metrics, log, time);
        probes.ConsoleFound += observer.PublishInfo;
        var capture = new CaptureMonitor(captureInterface, filter, createCapture, ownCarrier, targetLinks, metrics, log);
        // Producers in this order: the capture (opened, its health ticked) before the probe results of the same pass.
        var loop = new AnalysisLoop(pipeline, time).AddObserver(observer).AddObserver(probes).AddProducer(capture).AddProducer(probes);
        return new AgentLoop(loop, probes, capture, history);
    }

    /// <summary>The probe-result intake for <paramref name="config"/>'s targets.</summary>
    public static ProbeEvidence NewProbeEvidence(AgentConfig config, AgentMetrics metrics, ILogger log, TimeProvider time) =>
        new(config.Targets.ToDictionary(t => t.Name, t => Addresses.ToUInt(t.Ip)), metrics, log, time);

    /// <summary>Runs until <paramref name="stop"/>, waking for frames, probe results and ticks.</summary>
    public Task RunAsync(CancellationToken stop) => Loop.RunAsync(Probes.WaitToReadAsync, stop);

    /// <summary>Closes the capture and writes the history's stop mark.</summary>
    public void Dispose()
    {
        _capture.Dispose();
        _history.Stop(Loop.Time.GetUtcNow());
    }
}
