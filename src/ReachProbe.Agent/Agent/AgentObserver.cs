using Microsoft.Extensions.Logging;
using ReachProbe.Analysis;
using ReachProbe.Probes;
using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Agent;

/// <summary>What the agent does with the loop's evidence and verdicts: metrics, the log, the history, target metadata.</summary>
internal sealed partial class AgentObserver(IReadOnlyDictionary<UInt128, TargetConfig> configOf, AgentMetrics metrics, HistoryRecorder history, ILogger log, TimeProvider time)
    : IAnalysisObserver
{
    private static readonly TimeSpan AliveEvery = TimeSpan.FromSeconds(5);
    private readonly Dictionary<string, string[]> _info = [];
    private DateTimeOffset _nextAlive = DateTimeOffset.MinValue;
    private readonly HashSet<(string, ulong)> _conflictsLogged = [];

    private readonly Dictionary<UInt128, HostMonitor> _hosts = [];
    // Each target's verdict over its addresses (its IPv4 host and its IPv6 one).
    private readonly Dictionary<string, DeviceVerdict> _devices = [];
    private bool _conflictTick;

    /// <summary>The target's verdict over its addresses, or null when none of them is known yet.</summary>
    public DeviceVerdict? Device(string target) => _devices.GetValueOrDefault(target);

    /// <summary>Every target's verdict.</summary>
    public IEnumerable<DeviceVerdict> Devices => _devices.Values;

    public void OnHostAdded(HostMonitor host)
    {
        // A target followed by its MAC is announced once the agent knows its address is its (Moved).
        if (!configOf.TryGetValue(host.Identity.Ip, out var t)) return;
        _hosts[host.Identity.Ip] = host;
        if (!_devices.TryGetValue(t.Name, out var device)) _devices[t.Name] = device = new DeviceVerdict();
        var now = time.GetUtcNow().UtcTicks;
        device.Add(host.Verdict, now, now);
        metrics.SetState(t.Name, device.State);
        metrics.Address(t.Name, Addresses.Ip(host.Identity.Ip));
        PublishInfo(host, null);
    }

    /// <summary>A target followed by its MAC, whose address is not known yet: unknown, and no address.</summary>
    public void Pending(TargetConfig t)
    {
        metrics.SetState(t.Name, TargetState.Unknown);
        var next = metrics.InfoValues("", t.Mac, "", t.Firmware, t.Labels);
        metrics.Info(t.Name, next, _info.GetValueOrDefault(t.Name));
        _info[t.Name] = next;
    }

    /// <summary>A target followed by its MAC is at its host's address now, from <paramref name="from"/> (0: first seen).</summary>
    public void Moved(HostMonitor host, UInt128 from)
    {
        if (from == 0)
        {
            OnHostAdded(host);
            return;
        }
        _hosts.Remove(from);
        _hosts[host.Identity.Ip] = host;
        metrics.Address(Name(host), Addresses.Ip(host.Identity.Ip), Addresses.Ip(from));
        PublishInfo(host, null);
    }

    public void OnEvidence(HostMonitor host, in Evidence e)
    {
        if (!configOf.ContainsKey(host.Identity.Ip)) return; // a target removed by a reload
        var name = Name(host);
        metrics.Evidence(name, e.Kind);
        if (e.Kind == EvidenceKind.FrameFromTarget) metrics.LastFrame(name, e.Time);
        if (e.Kind == EvidenceKind.AddressConflict) Conflicts(host, name);
        if (e.Kind == EvidenceKind.Flood) log.Flood(name, HostMonitor.FloodRate);
        if (e.Kind == EvidenceKind.MacChanged)
        {
            log.MacChanged(name, Addresses.Ip(host.Identity.Ip), Addresses.Mac(host.Identity.Mac));
            PublishInfo(host, null);
        }
    }

    private void Conflicts(HostMonitor host, string name)
    {
        foreach (var (mac, frames) in host.Conflicts)
        {
            metrics.Conflicts(name, Addresses.Mac(mac), frames);
            if (_conflictsLogged.Count < 1024 && _conflictsLogged.Add((name, mac)))
                log.Conflict(name, Addresses.Ip(host.Identity.Ip), Addresses.Mac(mac), host.Identity.Mac == 0 ? "unknown" : Addresses.Mac(host.Identity.Mac));
        }
    }

    public void OnStateChanged(HostMonitor host, StateChange change)
    {
        if (!configOf.ContainsKey(host.Identity.Ip)) return; // a target removed by a reload
        var name = Name(host);
        var device = _devices[name];
        if (device.Update(host.Verdict, change) is not { } own)
        {
            // One family changed and the device did not: deaf on IPv4 while IPv6 answers, say.
            if (device.Members.Count > 1 && change.State is not (TargetState.Up or TargetState.Unknown))
                log.FamilyChanged(name, change.State.Loud(), Addresses.IsV4(host.Identity.Ip) ? "IPv4" : "IPv6", Addresses.Ip(host.Identity.Ip), device.State.Name(),
                    VerdictWords.InFamily(VerdictWords.Why(change.State, host.Verdict.Incidents.LastOrDefault()?.Evidence ?? host.Verdict.Totals, linkDown: host.Verdict.IsLinkDown), host.Identity.Ip));
            return;
        }
        metrics.SetState(name, own.State);
        metrics.StateChanged(name, own.State);
        LogChange(host, device, name, own);
        history.Sync(name, device.Incidents);
        PublishInfo(host, null);
    }

    /// <summary>One line a change, in plain words: what it is now and why; how long it lasted when it ends.</summary>
    private void LogChange(HostMonitor host, DeviceVerdict device, string name, StateChange change)
    {
        var ip = Addresses.Ip(host.Identity.Ip);
        var who = name == ip ? ip : $"{name} ({ip})";
        var incidents = device.Incidents;
        switch (change.State)
        {
            case TargetState.Up when incidents.Count > 0 && incidents[^1] is { End: { } end, EndReason: IncidentEnd.Recovered } last && end == Math.Max(change.At, last.Start):
                log.TargetRecovered(who, VerdictWords.Duration(TimeSpan.FromTicks(end - last.Start)), last.State.Name());
                break;
            case TargetState.Up:
                log.TargetUp(who);
                break;
            case TargetState.Unknown:
                log.TargetUnknown(who, change.Cause == EvidenceKind.MonitorBlind
                    ? "the monitor cannot see (its capture failed, or its own link is down); no one is blamed"
                    : change.Cause.Info().Text);
                break;
            default:
                var evidence = incidents.Count > 0 && incidents[^1].End is null ? incidents[^1].Evidence : device.Totals;
                log.TargetFailing(who, change.State.Loud(), VerdictWords.InFamily(VerdictWords.Why(change.State, evidence, linkDown: device.IsLinkDown), host.Identity.Ip));
                break;
        }
    }

    public void OnTick(DateTimeOffset now)
    {
        _conflictTick = !_conflictTick;
        if (_conflictTick)
            foreach (var (ip, t) in configOf)
            {
                if (!_hosts.TryGetValue(ip, out var h)) continue;
                if (h.Conflicts.Count > 0) Conflicts(h, t.Name);
                foreach (var (kind, n) in h.Flooded) metrics.Flooded(t.Name, kind.Info().Name, n);
            }
        if (now < _nextAlive) return;
        history.Alive(now);
        _nextAlive = now + AliveEvery;
    }

    /// <summary>A target removed by a reload: its series go from /metrics.</summary>
    public void Forget(string target)
    {
        foreach (var (ip, h) in _hosts.Where(kv => !configOf.ContainsKey(kv.Key)).ToList()) _hosts.Remove(ip);
        _devices.Remove(target);
        _info.Remove(target);
        metrics.Forget(target);
    }

    private string Name(HostMonitor host) => configOf[host.Identity.Ip].Name;

    /// <summary>Publishes <c>reachprobe_target_info</c>, replacing the previous series only when something changed.</summary>
    public void PublishInfo(HostMonitor host, DdpInfo? console)
    {
        var t = configOf[host.Identity.Ip];
        var known = _info.TryGetValue(t.Name, out var previous);
        var mac = host.Identity.Mac == 0 ? t.Mac ?? "" : Addresses.Mac(host.Identity.Mac);
        var hostType = console?.HostType ?? previous?[2] ?? "";
        var firmware = console?.Firmware ?? (string.IsNullOrEmpty(previous?[3]) ? t.Firmware ?? "" : previous[3]);
        if (console?.Firmware is { } seen) history.Firmware(t.Name, seen, time.GetUtcNow());
        // A device watched in both families is named by its IPv4 address.
        var primary = Addresses.IsV4(host.Identity.Ip) || _devices.GetValueOrDefault(t.Name) is not { Members.Count: > 1 } ? host.Identity.Ip
            : _hosts.FirstOrDefault(kv => Addresses.IsV4(kv.Key) && configOf.GetValueOrDefault(kv.Key)?.Name == t.Name).Key;
        var ip = Addresses.Ip(primary == 0 ? host.Identity.Ip : primary);
        var next = metrics.InfoValues(ip, mac, hostType, firmware, t.Labels);
        if (known && previous!.SequenceEqual(next)) return;
        // Its MAC, once known, is its identity in the history: a rename or a new address keeps one history.
        if (mac.Length > 0 && (!known || previous![1] != mac || previous[0] != ip)) history.Identify(t.Name, ip, mac);
        metrics.Info(t.Name, next, known ? previous : null);
        _info[t.Name] = next;
    }
}
