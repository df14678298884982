using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ReachProbe.Probes;
using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Agent;

/// <summary>
/// One target watched for as long as <c>reachprobe probe</c> runs: the agent's own loop — live capture on the interface
/// that reaches the target, the wire trackers, the verdict engine — fed by the probe's results instead of the
/// scheduler's. What <c>run</c> would conclude, in seconds, for one host.
/// </summary>
public sealed class ProbeWatch : IDisposable
{
    private readonly AgentLoop _agent;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;
    private readonly IPAddress _target;
    private readonly TimeProvider _time;
    private int _sent, _answered;

    private ProbeWatch(AgentLoop agent, IPAddress target, string iface, CaptureView? view, bool macKnown, TimeProvider time)
    {
        _agent = agent;
        _target = target;
        _time = time;
        Interface = iface;
        View = view;
        MacKnown = macKnown;
        _run = Task.Run(() => agent.RunAsync(_stop.Token));
    }

    /// <summary>The capture interface.</summary>
    public string Interface { get; }

    /// <summary>The view assumed for the watch (full on a bridge), or null when detected from the frames.</summary>
    public CaptureView? View { get; }

    /// <summary>The target's MAC was known before the first probe: given, or in the kernel's neighbour table.</summary>
    public bool MacKnown { get; }

    /// <summary>
    /// Starts watching <paramref name="target"/> on <paramref name="path"/>'s interface: the capture opens, the loop runs. A bridge
    /// is taken as a full view (the monitor inline: libpcap's promiscuous capture on the bridge sees what it forwards)
    /// unless <paramref name="view"/> says otherwise; elsewhere the view is detected as <c>run</c> does.
    /// </summary>
    public static ProbeWatch Start(IPAddress target, string? mac, NetworkPath path, CaptureView? view, TimeSpan interval, TimeSpan timeout,
        Func<string, ILiveSource>? createCapture = null, TimeProvider? time = null, ILogger? log = null)
    {
        time ??= TimeProvider.System;
        var iface = path.Interface;
        var bridge = new BridgePorts(iface, time: time);
        view ??= bridge.IsBridge ? CaptureView.Full : null;
        var known = mac ?? NeighbourTable.MacOf(target);
        var config = new AgentConfig
        {
            Interface = iface,
            View = view,
            History = null,
            Targets = [new TargetConfig { Name = target.ToString(), Ip = target, Mac = mac, Probes = [], Interval = interval, Timeout = timeout }],
        };
        var metrics = new AgentMetrics(Prometheus.Metrics.NewCustomRegistry());
        var agent = AgentLoop.Create(config, iface, createCapture ?? (filter => new LiveCapture(iface, filter)), () => SysNet.Carrier(iface) != false,
            bridge.IsBridge ? bridge : null, path.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? Addresses.ToUInt(path.Address) : null,
            metrics, log ?? NullLogger.Instance, time, monitorMac: SysNet.Mac(iface),
            monitorV6: path.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? [Addresses.ToKey(path.Address)] : null);
        return new ProbeWatch(agent, target, iface, view, known is not null, time);
    }

    /// <summary>Waits until the capture sees (true) or has failed to open (false), at most <paramref name="max"/>.</summary>
    public async Task<bool> WaitForCaptureAsync(TimeSpan max, CancellationToken cancellation)
    {
        var until = _time.GetTimestamp() + (long)(max.TotalSeconds * _time.TimestampFrequency);
        while (_time.GetTimestamp() < until)
        {
            var (seeing, failure) = _agent.Capture;
            if (seeing) return true;
            if (failure is not null || _run.IsCompleted) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, cancellation).ConfigureAwait(false);
        }
        return false;
    }

    /// <summary>Why the capture failed, or null.</summary>
    public string? CaptureFailure => _agent.Capture.Failure;

    /// <summary>Hands one probe result to the loop, as the scheduler does for <c>run</c>.</summary>
    public void Record(ScheduledProbe probe, ProbeResult result, DateTimeOffset at)
    {
        Interlocked.Increment(ref _sent);
        if (result.ProvesReceipt) Interlocked.Increment(ref _answered);
        _agent.Probes.Record(probe, result, at);
    }

    /// <summary>The state now (a racy read, for deciding when to stop watching).</summary>
    public TargetState State => _agent.Host(_target)?.Verdict.State ?? TargetState.Unknown;

    /// <summary>
    /// Watches for up to <paramref name="watch"/> after the last probe — less when the target is already up — then stops
    /// the loop and gives the verdict (unknown, with the capture's failure, when the capture did not see).
    /// <paramref name="attempts"/> says which probe attempts went unanswered ("icmp ×3, arp ×3").
    /// </summary>
    public async Task<ProbeVerdict> FinishAsync(TimeSpan watch, string? attempts, CancellationToken cancellation)
    {
        var until = _time.GetTimestamp() + (long)(watch.TotalSeconds * _time.TimestampFrequency);
        // Answers on the wire are confirmed within a second; the wire trackers settle a request after their reply timeout.
        while (_time.GetTimestamp() < until && State != TargetState.Up && !_run.IsCompleted)
            await Task.Delay(TimeSpan.FromMilliseconds(50), _time, cancellation).ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _run.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        var host = _agent.Host(_target);
        var verdict = host?.Verdict;
        var (seeing, failure) = _agent.Capture;
        var incident = verdict?.Incidents.LastOrDefault()?.Evidence;
        var totals = verdict?.Totals ?? new EvidenceCounts();
        return ProbeVerdict.Decide(verdict?.State ?? TargetState.Unknown, incident, totals,
            MacKnown || host?.Identity.Mac is not (null or 0), seeing ? null : failure ?? "the capture never opened", verdict?.IsCloned == true, _answered, _sent, attempts)
            with { Evidence = ProbeVerdict.Named(totals) };
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _run.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
        }
        _agent.Dispose();
        _stop.Dispose();
    }
}
