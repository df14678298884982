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
public sealed partial class AgentLoop : IDisposable
{
    private readonly HistoryRecorder _history;
    private readonly CaptureMonitor _capture;
    private readonly AgentObserver _observer;
    private readonly Dictionary<uint, TargetConfig> _configOf;
    private readonly ILogger _log;
    private readonly System.Collections.Concurrent.ConcurrentQueue<AgentConfig> _reconfigure = new();
    private AgentConfig _config;

    private AgentLoop(AgentConfig config, AnalysisLoop loop, ProbeEvidence probes, CaptureMonitor capture, HistoryRecorder history, AgentObserver observer,
        Dictionary<uint, TargetConfig> configOf, ILogger log)
    {
        _config = config;
        Loop = loop;
        Probes = probes;
        _capture = capture;
        _history = history;
        _observer = observer;
        _configOf = configOf;
        _log = log;
        _started = loop.Time.GetUtcNow();
        loop.AddProducer(new Reconfiguration(this));
    }

    /// <summary>The targets being watched.</summary>
    public IReadOnlyList<TargetConfig> Targets => _config.Targets;

    /// <summary>
    /// Takes a new configuration (from any thread); the loop applies it at its next pass: removed targets are dropped
    /// (an open incident is closed as cut short), added ones start unknown, the others keep their state. Thresholds
    /// and the other settings stay as they were.
    /// </summary>
    public void Reconfigure(AgentConfig next) => _reconfigure.Enqueue(next);

    // Not evidence: a new configuration, applied on the loop's thread between passes (it adds and removes targets).
    private sealed class Reconfiguration(AgentLoop agent) : IEvidenceProducer
    {
        public void Poll(IEvidenceIntake intake, DateTimeOffset now, bool tick)
        {
            while (agent._reconfigure.TryDequeue(out var next)) agent.Apply(next, now);
        }
    }

    private void Apply(AgentConfig next, DateTimeOffset now)
    {
        var change = ConfigChange.Between(_config, next);
        var pipeline = Loop.Pipeline;
        foreach (var t in change.Removed)
        {
            var ip = Addresses.ToUInt(t.Ip);
            if (pipeline.Find(ip) is { } host) _history.Forget(t.Name, host.Verdict, now);
            _history.Unwatch(t.Name, now);
            pipeline.RemoveTarget(ip);
            _configOf.Remove(ip);
            _observer.Forget(t.Name);
        }
        foreach (var t in change.Changed)
        {
            _configOf[Addresses.ToUInt(t.Ip)] = t;
            _history.Firmware(t.Name, t.Firmware, now);
        }
        _history.Watch(change.Added, now); // before their firmware: the firmware row is keyed on the identity this makes
        foreach (var t in change.Added)
        {
            _configOf[Addresses.ToUInt(t.Ip)] = t;
            _history.Firmware(t.Name, t.Firmware, now);
            pipeline.AddTarget(Addresses.ToUInt(t.Ip), t.Mac is not null && Addresses.TryParseMac(t.Mac, out var mac) ? mac : 0);
        }
        Probes.SetTargets(next.Targets.ToDictionary(t => t.Name, t => Addresses.ToUInt(t.Ip)));
        _capture.Filter = Filter(next.Targets);
        _config = next;
    }

    /// <summary>The loop.</summary>
    public AnalysisLoop Loop { get; }

    /// <summary>The live capture's health: open and seeing (at the last tick), or why it failed (read from any thread).</summary>
    public (bool Seeing, string? Failure) Capture => (_capture.Seeing, _capture.Failure);

    /// <summary>Where the probe jobs hand their results.</summary>
    public ProbeEvidence Probes { get; }

    /// <summary>The pipeline's host for a target address, or null.</summary>
    public HostMonitor? Host(IPAddress ip) => Loop.Pipeline.Find(Addresses.ToUInt(ip));

    /// <summary>Wires the agent's analysis and opens the history (a start mark is written).</summary>
    /// <param name="config">Targets, thresholds, history path.</param>
    /// <param name="captureInterface">Interface for metrics and logs.</param>
    /// <param name="createCapture">Makes a capture with a BPF filter, to open (a new one after each failure or new filter).</param>
    /// <param name="ownCarrier">The monitor's own link carrier.</param>
    /// <param name="targetLinks">The carrier behind each target's MAC, when capturing on a bridge.</param>
    /// <param name="monitorAddress">The monitor's own IPv4 address, whose requests the probe results count.</param>
    /// <param name="metrics">Metrics.</param>
    /// <param name="log">Log.</param>
    /// <param name="time">The clock.</param>
    /// <param name="monitorMac">The capture interface's own MAC (to tell other hosts' unicast from ours), when known.</param>
    /// <param name="probes">Where probe results are handed over, when the probe jobs start before the loop is wired; else a new one.</param>
    public static AgentLoop Create(AgentConfig config, string captureInterface, Func<string, ILiveSource> createCapture, Func<bool> ownCarrier,
        ITargetLinks? targetLinks, uint? monitorAddress, AgentMetrics metrics, ILogger log, TimeProvider time, ProbeEvidence? probes = null, ulong? monitorMac = null)
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
        history.Watch(config.Targets, time.GetUtcNow());
        foreach (var t in config.Targets) history.Firmware(t.Name, t.Firmware, time.GetUtcNow());
        // Request tables sized for the target count: memory stays bounded whatever a flood sends at every target.
        var pipeline = new WirePipeline(config.Thresholds, time, targets, tableCapacity: Wire.Trackers.SignatureTracker.TableCapacityFor(targets.Count));
        if (monitorAddress is { } own) pipeline.Monitor = own;
        pipeline.View = new SegmentView(forced: config.View) { OwnMac = monitorMac ?? 0 };
        metrics.View(captureInterface, pipeline.View.View);
        log.ViewAtStart(captureInterface, pipeline.View.View.ToString().ToLowerInvariant(), config.View is not null
            ? "as configured"
            : "until its frames show otherwise; from a switched view a silent target is unresponsive before it is down");
        pipeline.View.Changed += (view, _) =>
        {
            metrics.View(captureInterface, view);
            log.ViewChanged(captureInterface, view.ToString().ToLowerInvariant());
        };

        var observer = new AgentObserver(configOf, metrics, history, log, time);
        probes ??= NewProbeEvidence(config, metrics, log, time);
        probes.ConsoleFound += observer.PublishInfo;
        pipeline.IcmpToMonitor += probes.OnIcmpToMonitor;
        var capture = new CaptureMonitor(captureInterface, Filter(config.Targets), createCapture, ownCarrier, targetLinks, metrics, log, config.Thresholds.MacChange);
        // Producers in this order: the capture (opened, its health ticked) before the probe results of the same pass.
        var loop = new AnalysisLoop(pipeline, time) { Source = capture }.AddObserver(observer).AddProducer(capture).AddProducer(probes);
        return new AgentLoop(config, loop, probes, capture, history, observer, configOf, log);
    }

    /// <summary>The capture filter for these targets: by host, or by subnet or all IP when that is more than the kernel takes.</summary>
    private static CaptureFilter.Choice Filter(IEnumerable<TargetConfig> targets) => CaptureFilter.For(targets.Select(t => (t.Ip, t.Mac)));

    /// <summary>The probe-result intake for <paramref name="config"/>'s targets.</summary>
    public static ProbeEvidence NewProbeEvidence(AgentConfig config, AgentMetrics metrics, ILogger log, TimeProvider time) =>
        new(config.Targets.ToDictionary(t => t.Name, t => Addresses.ToUInt(t.Ip)), metrics, log, time, config.Thresholds.NegativeEvidenceThreshold);

    /// <summary>Runs until <paramref name="stop"/>, waking for frames, probe results and ticks.</summary>
    public Task RunAsync(CancellationToken stop) => Loop.RunAsync(Probes.WaitToReadAsync, stop);

    private readonly DateTimeOffset _started;

    /// <summary>Closes the capture, writes the history's stop mark and says how long it ran and how its targets stand.</summary>
    public void Dispose()
    {
        var states = Loop.Pipeline.Hosts.GroupBy(h => h.Verdict.State).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.Name()}");
        _log.Stopping(VerdictWords.Duration(Loop.Time.GetUtcNow() - _started), $"{_config.Targets.Count} target(s): {string.Join(", ", states)}");
        _capture.Dispose();
        _history.Stop(Loop.Time.GetUtcNow());
    }
}
