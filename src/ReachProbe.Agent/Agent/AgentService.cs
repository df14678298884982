using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ReachProbe.Probes;
using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Agent;

/// <summary>
/// The live agent's one analysis loop: frames from the live capture and results from the scheduled probes go through
/// the same <see cref="WirePipeline"/> and verdict engines as <c>analyze</c>, with the system clock. Invariant: only
/// this loop touches the pipeline; the capture thread and the probe jobs hand over through channels and never wait.
/// A faulted loop stops the host (it is logged, never swallowed).
/// </summary>
public sealed partial class AgentService(AgentConfig config, string captureInterface, AgentMetrics metrics, ILogger<AgentService> log, TimeProvider time, IHostApplicationLifetime lifetime)
    : BackgroundService, IProbeResultSink
{
    private readonly Channel<(ScheduledProbe Probe, ProbeResult Result, DateTimeOffset At)> _results =
        Channel.CreateBounded<(ScheduledProbe, ProbeResult, DateTimeOffset)>(new BoundedChannelOptions(4096) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly Dictionary<uint, TargetConfig> _byIp = [];
    private readonly Dictionary<string, (string, string, string, string)> _info = [];
    private readonly Dictionary<HostMonitor, long> _lastWireEchoReply = [];
    private readonly HashSet<HostMonitor> _socketBlind = [];
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
    private HistoryRecorder? _history;

    /// <inheritdoc/>
    public void Record(ScheduledProbe probe, ProbeResult result, DateTimeOffset at) => _results.Writer.TryWrite((probe, result, at));

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogLoopFailed(e);
            lifetime.StopApplication();
            throw;
        }
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var targets = new Dictionary<uint, ulong>();
        foreach (var t in config.Targets)
        {
            var ip = Ip(t.Ip);
            _byIp[ip] = t;
            targets[ip] = t.Mac is not null && Addresses.TryParseMac(t.Mac, out var mac) ? mac : 0;
        }
        var history = new HistoryRecorder(config.History, metrics, log);
        history.Start(time.GetUtcNow());
        foreach (var t in config.Targets) history.Firmware(t.Name, t.Firmware, time.GetUtcNow());
        _history = history;
        var pipeline = new WirePipeline(config.Thresholds, time, targets);
        if (MonitorAddress(captureInterface) is { } own) pipeline.Monitor = own;
        foreach (var host in pipeline.Hosts)
        {
            var name = _byIp[host.Identity.Ip].Name;
            metrics.SetState(name, TargetState.Unknown);
            PublishInfo(host, null);
            host.EvidenceObserved += (h, e) =>
            {
                metrics.Evidence(name, e.Kind);
                if (e.Kind == EvidenceKind.FrameFromTarget) metrics.LastFrame(name, e.Time);
                if (e.Kind == EvidenceKind.EchoAnswered) _lastWireEchoReply[h] = e.Time;
            };
            host.Verdict.StateChanged += change =>
            {
                metrics.SetState(name, change.State);
                metrics.StateChanged(name, change.State);
                LogState(name, change.State.Name(), change.Cause.ToString());
                history.Sync(name, host.Verdict);
                PublishInfo(host, null);
            };
        }

        var bridge = new BridgePorts(captureInterface);
        var isBridge = bridge.IsBridge;
        var linkDown = new HashSet<HostMonitor>();
        var filter = BpfFilter(config.Targets);
        LiveCapture? capture = null;
        var blind = false;
        var retryAt = DateTimeOffset.MinValue;
        var backoff = TimeSpan.FromMilliseconds(500);
        var nextTick = time.GetUtcNow();
        var nextAlive = nextTick;
        try
        {
        while (!stop.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            if (capture is null && now >= retryAt)
            {
                var c = new LiveCapture(captureInterface, filter);
                try
                {
                    c.Open();
                    capture = c;
                    backoff = TimeSpan.FromMilliseconds(500);
                    LogCaptureOpen(captureInterface, filter);
                    if (blind)
                    {
                        foreach (var h in pipeline.Hosts) h.Add(new Evidence(EvidenceKind.MonitorSighted, now.UtcTicks));
                        blind = false;
                    }
                }
                catch (CaptureException e)
                {
                    c.Dispose();
                    // Infrastructure: retried with exponential backoff, capped; the targets are unknown meanwhile.
                    retryAt = now + backoff;
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
                    LogCaptureFailed(captureInterface, e.Message);
                    if (!blind)
                    {
                        foreach (var h in pipeline.Hosts) h.Add(new Evidence(EvidenceKind.MonitorBlind, now.UtcTicks));
                        blind = true;
                    }
                }
            }

            if (capture is not null)
            {
                while (capture.Frames.TryRead(out var frame)) pipeline.Process(LinkKind.Ethernet, frame.Data, frame.Time);
            }
            while (_results.Reader.TryRead(out var item)) OnProbeResult(pipeline, item.Probe, item.Result, item.At);

            if (now >= nextTick)
            {
                nextTick = now + Tick;
                if (now >= nextAlive)
                {
                    history.Alive(now);
                    nextAlive = now + TimeSpan.FromSeconds(5);
                }
                pipeline.Advance(now.UtcTicks);
                var linkUp = CarrierUp(captureInterface);
                if (capture is not null && capture.Error is not null)
                {
                    LogCaptureFailed(captureInterface, capture.Error);
                    capture.Dispose();
                    capture = null;
                    retryAt = now + backoff;
                    foreach (var h in pipeline.Hosts) h.Add(new Evidence(EvidenceKind.MonitorBlind, now.UtcTicks));
                    blind = true;
                }
                else if (capture is not null && !linkUp && !blind)
                {
                    // Our own link is down: we cannot see, so we cannot blame anyone.
                    foreach (var h in pipeline.Hosts) h.Add(new Evidence(EvidenceKind.MonitorBlind, now.UtcTicks));
                    blind = true;
                }
                else if (capture is not null && linkUp && blind)
                {
                    foreach (var h in pipeline.Hosts) h.Add(new Evidence(EvidenceKind.MonitorSighted, now.UtcTicks));
                    blind = false;
                }
                metrics.Health(captureInterface, capture is not null && !blind, linkUp);
                if (isBridge && !blind) WatchTargetLinks(pipeline, bridge, linkDown, now);
                if (capture?.Statistics is { } s)
                {
                    metrics.CaptureCounter(captureInterface, "received", s.Received);
                    metrics.CaptureCounter(captureInterface, "dropped", s.Dropped);
                    metrics.CaptureCounter(captureInterface, "interface_dropped", s.InterfaceDropped);
                }
                if (capture is not null) metrics.CaptureCounter(captureInterface, "handoff_dropped", capture.HandoffDropped);
            }

            // Wait for work or the next tick.
            var wait = nextTick - time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
                cts.CancelAfter(wait);
                try
                {
                    var frames = capture?.Frames.WaitToReadAsync(cts.Token).AsTask() ?? Task.Delay(Timeout.Infinite, cts.Token);
                    await Task.WhenAny(frames, _results.Reader.WaitToReadAsync(cts.Token).AsTask()).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                }
            }
        }
        }
        finally
        {
            capture?.Dispose();
            history.Stop(time.GetUtcNow());
        }
    }

    /// <summary>The carrier of the bridge port each target is behind: its own link (field report signature 8).</summary>
    private static void WatchTargetLinks(WirePipeline pipeline, BridgePorts bridge, HashSet<HostMonitor> linkDown, DateTimeOffset now)
    {
        foreach (var host in pipeline.Hosts)
        {
            if (host.Identity.Mac == 0 || bridge.PortOf(host.Identity.Mac) is not { } port) continue;
            if (bridge.Carrier(port) is not { } carrier) continue;
            if (!carrier && linkDown.Add(host)) host.Add(new Evidence(EvidenceKind.TargetLinkDown, now.UtcTicks));
            else if (carrier && linkDown.Remove(host)) host.Add(new Evidence(EvidenceKind.TargetLinkUp, now.UtcTicks));
        }
    }

    private void OnProbeResult(WirePipeline pipeline, ScheduledProbe probe, ProbeResult result, DateTimeOffset at)
    {
        metrics.Probe(probe.Target, result);
        var target = config.Targets.FirstOrDefault(t => t.Name == probe.Target);
        if (target is null || pipeline.Find(Ip(target.Ip)) is not { } host) return;
        if (result.Console is { } console) PublishInfo(host, console);
        if (probe.Probe is IcmpProbe)
        {
            // The wire and the socket disagree: the target's reply reached the wire, our socket never got it. The fault
            // is on the monitor's side (a firewall, a socket problem): say unknown, never blame the target.
            if (result.Status == ProbeStatus.Timeout && _lastWireEchoReply.GetValueOrDefault(host) >= at.UtcTicks)
            {
                if (_socketBlind.Add(host))
                {
                    LogSocketBlind(probe.Target);
                    host.Add(new Evidence(EvidenceKind.MonitorBlind, time.GetUtcNow().UtcTicks));
                }
                return;
            }
            if (result.ProvesReceipt && _socketBlind.Remove(host)) host.Add(new Evidence(EvidenceKind.MonitorSighted, at.UtcTicks));
        }
        switch (result.Status)
        {
            case ProbeStatus.Answered or ProbeStatus.Refused:
                host.Add(new Evidence(EvidenceKind.ProbeAnswered, (at + result.Duration).UtcTicks));
                break;
            case ProbeStatus.Timeout or ProbeStatus.Unreachable:
                host.Add(new Evidence(EvidenceKind.ProbeUnanswered, at.UtcTicks));
                break;
            // An error is the monitor's own problem (no permission, no route): it says nothing about the target.
        }
    }

    private void PublishInfo(HostMonitor host, DdpInfo? console)
    {
        var t = _byIp[host.Identity.Ip];
        _info.TryGetValue(t.Name, out var previous);
        var mac = host.Identity.Mac == 0 ? t.Mac ?? "" : Addresses.Mac(host.Identity.Mac);
        var hostType = console?.HostType ?? (previous.Item3 ?? "");
        var firmware = console?.Firmware ?? (string.IsNullOrEmpty(previous.Item4) ? t.Firmware ?? "" : previous.Item4);
        if (console?.Firmware is { } seen) _history?.Firmware(t.Name, seen, time.GetUtcNow());
        var next = (t.Ip.ToString(), mac, hostType, firmware);
        if (_info.ContainsKey(t.Name) && previous == next) return;
        metrics.Info(t.Name, next.Item1, next.Item2, next.Item3, next.Item4, _info.ContainsKey(t.Name) ? previous : null);
        _info[t.Name] = next;
    }

    /// <summary>"arp or host A or host B …", plus the targets' MACs when configured: all a target's traffic, and all ARP.</summary>
    public static string BpfFilter(IEnumerable<TargetConfig> targets)
    {
        var parts = new List<string> { "arp" };
        foreach (var t in targets)
        {
            parts.Add($"host {t.Ip}");
            if (t.Mac is not null) parts.Add($"ether host {t.Mac}");
        }
        return string.Join(" or ", parts);
    }

    /// <summary>The capture interface's IPv4 address (the source of our probes), or null.</summary>
    private static uint? MonitorAddress(string iface)
    {
        try
        {
            var nic = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == iface);
            var a = nic?.GetIPProperties().UnicastAddresses.FirstOrDefault(u => u.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
            return a is null ? null : Ip(a.Address);
        }
        catch (System.Net.NetworkInformation.NetworkInformationException)
        {
            return null;
        }
    }

    private static bool CarrierUp(string iface)
    {
        try
        {
            return File.ReadAllText($"/sys/class/net/{iface}/carrier").Trim() == "1";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // reading carrier of a down interface fails with EINVAL
        }
    }

    private static uint Ip(IPAddress a) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(a.GetAddressBytes());

    [LoggerMessage(Level = LogLevel.Information, Message = "capturing on {Interface} with filter '{Filter}'")]
    private partial void LogCaptureOpen(string @interface, string filter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "capture on {Interface} failed: {Reason}; targets are unknown until it is back")]
    private partial void LogCaptureFailed(string @interface, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Target} is {State} ({Cause})")]
    private partial void LogState(string target, string state, string cause);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Target}: its echo reply reached the wire but not our socket; the monitor cannot see (a firewall on the monitor?), so the target is unknown")]
    private partial void LogSocketBlind(string target);

    [LoggerMessage(Level = LogLevel.Critical, Message = "the analysis loop failed; stopping")]
    private partial void LogLoopFailed(Exception e);
}
