using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using ReachProbe.Analysis;
using ReachProbe.Probes;
using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Agent;

/// <summary>
/// The scheduled probes' results as evidence: an answer (or a refusal) is proof of receipt, a timeout or an
/// unreachable is unanswered; an error is the monitor's own problem and says nothing about the target. The probe jobs
/// hand results over through a bounded channel and never wait; the loop drains it on its thread.
/// </summary>
public sealed partial class ProbeEvidence(IReadOnlyDictionary<string, UInt128[]> targets, AgentMetrics metrics, ILogger log, TimeProvider time, int degradeAfter = 3)
    : IEvidenceProducer, IProbeResultSink
{
    // Per probe (its key): whether it was ever answered, how many attempts in a row went unanswered since, and whether
    // its target is degraded for it (up, but no longer answering this probe).
    private readonly Dictionary<string, (bool Answered, int Misses, bool Degraded)> _health = [];
    private IReadOnlyDictionary<string, UInt128[]> _ipOfTarget = targets;

    /// <summary>
    /// The targets and the addresses each is watched at now, IPv4 first (on the loop's thread, after a reload or a move):
    /// results for other targets, or from addresses they left, are dropped.
    /// </summary>
    public void SetTargets(IReadOnlyDictionary<string, UInt128[]> ipOfTarget) => _ipOfTarget = ipOfTarget;

    /// <summary>Probe results waiting for the loop, at most: past that the oldest is dropped, and counted.</summary>
    public const int QueueCapacity = 4096;

    private readonly Channel<(ScheduledProbe Probe, ProbeResult Result, DateTimeOffset At)> _results =
        Channel.CreateBounded<(ScheduledProbe, ProbeResult, DateTimeOffset)>(new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => metrics.ProbeResultDropped());
    private readonly HashSet<HostMonitor> _socketBlind = [];
    private readonly HashSet<string> _discovered = [];
    // Echo replies (and refusals) to the monitor seen on the wire, per sender address: the last few (type, sequence, MAC, time).
    private readonly Dictionary<UInt128, (byte Type, ushort Seq, ulong Mac, long Time)[]> _wireReplies = [];
    private const int RepliesKept = 8;
    // ICMP answers the socket got, waiting for the wire to show the echo reply (or the refusal) from the target's own MAC.
    private readonly List<(HostMonitor Host, byte Type, ushort? Seq, DateTimeOffset Sent, DateTimeOffset Answered, DateTimeOffset Deadline)> _unconfirmed = [];
    private bool _confirmDue;
    private static readonly TimeSpan ConfirmWithin = TimeSpan.FromSeconds(1);

    /// <summary>A probe found a console (DDP): its type and firmware.</summary>
    public event Action<HostMonitor, DdpInfo>? ConsoleFound;

    /// <inheritdoc/>
    public void Record(ScheduledProbe probe, ProbeResult result, DateTimeOffset at) => _results.Writer.TryWrite((probe, result, at));

    /// <summary>Completes when a result is waiting (wakes the loop).</summary>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellation) => _results.Reader.WaitToReadAsync(cancellation);

    /// <summary>
    /// An echo reply (type 0) or a destination unreachable about an echo request (type 3) to the monitor on the wire
    /// (wired to <see cref="WirePipeline.IcmpToMonitor"/>).
    /// </summary>
    public void OnIcmpToMonitor(UInt128 from, ulong mac, byte type, ushort seq, long at)
    {
        if (!_wireReplies.TryGetValue(from, out var ring))
        {
            if (_wireReplies.Count >= 4096) return;
            _wireReplies[from] = ring = new (byte, ushort, ulong, long)[RepliesKept];
        }
        var oldest = 0;
        for (var i = 1; i < ring.Length; i++) if (ring[i].Time < ring[oldest].Time) oldest = i;
        ring[oldest] = (type, seq, mac, at);
        _confirmDue = true;
    }

    /// <summary>
    /// The wire carried the answer to this attempt — ICMP <paramref name="type"/> with our sequence number, from the
    /// target's own MAC (when known), between <paramref name="from"/> and <paramref name="until"/>.
    /// </summary>
    private bool OnTheWire(HostMonitor host, byte type, ushort? seq, long from, long until)
    {
        if (seq is null || !_wireReplies.TryGetValue(host.Identity.Ip, out var ring)) return false;
        foreach (var r in ring)
            if (r.Time != 0 && r.Type == type && r.Seq == seq && r.Time >= from && r.Time <= until && (host.Identity.Mac == 0 || r.Mac == host.Identity.Mac)) return true;
        return false;
    }

    /// <inheritdoc/>
    public void Poll(IEvidenceIntake intake, DateTimeOffset now, bool tick)
    {
        while (_results.Reader.TryRead(out var item)) OnResult(intake, item.Probe, item.Result, item.At);
        // Only when something can have changed: a reply on the wire, an answer to confirm, or a deadline (the tick).
        if (_confirmDue || tick)
        {
            _confirmDue = false;
            Confirm(intake, now);
        }
    }

    /// <summary>
    /// An echo answer counts as proof once the wire shows an echo reply from the target's MAC after the request: a
    /// host with a duplicate address (or a spoofer) answering our ping proves nothing about the target. An answer the
    /// wire never confirms within <see cref="ConfirmWithin"/> counts for nothing (its reply came from another MAC, or
    /// the capture missed it).
    /// </summary>
    private void Confirm(IEvidenceIntake intake, DateTimeOffset now)
    {
        for (var i = _unconfirmed.Count - 1; i >= 0; i--)
        {
            var (host, type, seq, sent, answered, deadline) = _unconfirmed[i];
            if (intake.Find(host.Identity.Ip) != host) _unconfirmed.RemoveAt(i); // removed by a reload
            else if (OnTheWire(host, type, seq, sent.UtcTicks, long.MaxValue))
            {
                _unconfirmed.RemoveAt(i);
                intake.Add(host, new Evidence(EvidenceKind.ProbeAnswered, answered.UtcTicks));
            }
            else if (now >= deadline)
            {
                _unconfirmed.RemoveAt(i);
            }
        }
    }

    /// <summary>
    /// Half-deaf: an up target that stops answering one probe it answered before (ARP yes, ICMP no — an input filter)
    /// stays up, since it receives; but that is said once (log, <c>reachprobe_target_degraded</c>) after
    /// <c>degradeAfter</c> attempts in a row, and unsaid when it answers again or is no longer up (its state says more).
    /// </summary>
    private void Degradation(ScheduledProbe probe, ProbeResult result, HostMonitor host, DateTimeOffset at)
    {
        if (result.Status == ProbeStatus.Error) return; // the monitor's problem, not the target's
        _health.TryGetValue(probe.Key, out var h);
        if (result.ProvesReceipt)
        {
            if (h.Degraded)
            {
                metrics.Degraded(probe.Target, probe.Probe.Name, false);
                log.TargetUndegraded(probe.Target, probe.Probe.Name);
            }
            _health[probe.Key] = (true, 0, false);
            return;
        }
        if (!h.Answered) return; // never answered: a probe this host does not serve, not a change
        var up = host.Verdict.State == TargetState.Up;
        // An attempt sent before the host was last found up (during its incident, settled after another probe's answer ended it) is no news about it now.
        if (up && host.Verdict.Changes.Count > 0 && at.UtcTicks < host.Verdict.Changes[^1].At) return;
        var misses = h.Misses + 1;
        if (h.Degraded && !up)
        {
            metrics.Degraded(probe.Target, probe.Probe.Name, false);
            _health[probe.Key] = (true, misses, false);
            return;
        }
        if (!h.Degraded && up && misses >= degradeAfter)
        {
            metrics.Degraded(probe.Target, probe.Probe.Name, true);
            log.TargetDegraded(probe.Target, probe.Probe.Name, misses);
            _health[probe.Key] = (true, misses, true);
            return;
        }
        if (_health.Count < 65536 || _health.ContainsKey(probe.Key)) _health[probe.Key] = (true, misses, h.Degraded);
    }

    private void OnResult(IEvidenceIntake intake, ScheduledProbe probe, ProbeResult result, DateTimeOffset at)
    {
        if (!_ipOfTarget.TryGetValue(probe.Target, out var ips) || ips.Length == 0) return; // a target removed by a reload (or not yet seen)
        // Each address's probes count for the host at that address; an attempt at an address the target has left (it
        // moved, followed by its MAC) says nothing about it.
        var ip = probe.Address is { } probed ? Addresses.ToKey(probed) : ips[0];
        if (Array.IndexOf(ips, ip) < 0) return;
        // What the answer proves is the probe's row's word (ProbeType.All), never a test of the probe's type here.
        // A DNS probe through a resolver that is not the target tests the resolver: its failure is the resolver's
        // (result="resolver_down"), and neither its answer nor its silence says anything about the target.
        var viaResolver = probe.Proves == AnswerProves.ServerOnly;
        // Console discovery (DDP) says something only where a console answers: until it has answered once, its
        // silence is neither a series nor evidence (most hosts are not PlayStations).
        if (probe.Proves == AnswerProves.ReceiptOnceAnswered && !_discovered.Contains(probe.Key))
        {
            if (!result.ProvesReceipt) return;
            if (_discovered.Count < 65536) _discovered.Add(probe.Key);
        }
        metrics.Probe(probe.Target, result, viaResolver);
        if (viaResolver || intake.Find(ip) is not { } host) return;
        Degradation(probe, result, host, at);
        if (result.Console is { } console) ConsoleFound?.Invoke(host, console);
        if (probe.Proves == AnswerProves.ReceiptSeenOnWire)
        {
            // The wire and the socket disagree: the reply to this very attempt (our sequence number, from the target's
            // MAC, before the deadline) reached the wire, and our socket never got it. The fault is on the monitor's side
            // (a firewall, a socket problem): say unknown, never blame the target. A late reply, or one to another
            // pinger, says nothing about our socket.
            // A reply "from its MAC" says nothing about our socket while that MAC is cloned or its own link is down: the
            // reply is the clone's, and ours may simply have been late.
            if (result.Status == ProbeStatus.Timeout && !host.Verdict.IsCloned && !host.Verdict.IsLinkDown
                && OnTheWire(host, 0, result.EchoSequence, at.UtcTicks, (at + result.Duration).UtcTicks))
            {
                if (_socketBlind.Add(host))
                {
                    log.SocketBlind(probe.Target);
                    intake.Add(host, new Evidence(EvidenceKind.MonitorBlind, time.GetUtcNow().UtcTicks));
                }
                return;
            }
            if (result.ProvesReceipt && _socketBlind.Remove(host)) intake.Add(host, new Evidence(EvidenceKind.MonitorSighted, at.UtcTicks));
            // An echo reply, or the target's own refusal (a firewall's reject on it): proof once the wire shows it
            // came from the target's MAC — a duplicate address can answer, or refuse, as well as the target.
            if (result.Status is ProbeStatus.Answered or ProbeStatus.Refused)
            {
                var type = result.Status == ProbeStatus.Answered ? (byte)0 : (byte)3;
                if (_unconfirmed.Count < 65536) _unconfirmed.Add((host, type, result.EchoSequence, at, at + result.Duration, time.GetUtcNow() + ConfirmWithin));
                _confirmDue = true;
                return;
            }
        }
        // The ARP probe's answer proves receipt only from the target's own MAC; another MAC is a conflict.
        if (probe.Proves == AnswerProves.ReceiptFromItsMac && result.Status == ProbeStatus.Answered && result.Mac is { } mac && Addresses.TryParseMac(mac, out var m)
            && !intake.Claim(host, m, (at + result.Duration).UtcTicks))
            return;
        if (result.ConflictMac is { } other && Addresses.TryParseMac(other, out var o)) intake.Claim(host, o, (at + result.Duration).UtcTicks);
        switch (result.Status)
        {
            case ProbeStatus.Answered or ProbeStatus.Refused:
                intake.Add(host, new Evidence(EvidenceKind.ProbeAnswered, (at + result.Duration).UtcTicks));
                break;
            case ProbeStatus.Timeout or ProbeStatus.Unreachable:
                intake.Add(host, new Evidence(EvidenceKind.ProbeUnanswered, at.UtcTicks));
                break;
        }
    }
}
