using ReachProbe.Verdict;
using ReachProbe.Wire.Trackers;

namespace ReachProbe.Wire;

/// <summary>How a host's MAC address was learned.</summary>
public enum MacSource : byte
{
    /// <summary>Not learned.</summary>
    None,
    /// <summary>Given by the user.</summary>
    Configured,
    /// <summary>From an ARP packet it sent (reliable: ARP never crosses a router).</summary>
    Arp,
    /// <summary>From the source MAC of an IPv4 packet it sent (tentative: a router forwards with its own MAC).</summary>
    IPv4,
}

/// <summary>One watched host: its identity, its eight signature trackers and its verdict engine.</summary>
public sealed class HostMonitor : IEvidenceSink
{
    private readonly SignatureTracker[] _trackers;

    internal HostMonitor(uint ip, VerdictOptions options, TimeProvider time)
    {
        Identity = new TargetIdentity(ip);
        Verdict = new TargetVerdict(options, time);
        // Order matters: proofs are weighed before the frame that carries them counts as mere transmission.
        _trackers =
        [
            new EchoTracker(Identity, this, options),
            new ArpForTargetTracker(Identity, this, options),
            new DnsRepeatTracker(Identity, this, options),
            new SynRetransmitTracker(Identity, this, options),
            new ArpFromTargetTracker(Identity, this, options),
            new GratuitousArpTracker(Identity, this, options),
            new FramesFromTargetTracker(Identity, this, options),
            new SilenceTracker(Identity, this, options),
        ];
    }

    /// <summary>IP and learned MAC.</summary>
    public TargetIdentity Identity { get; }

    /// <summary>The verdict engine for this host.</summary>
    public TargetVerdict Verdict { get; }

    /// <summary>How the MAC was learned.</summary>
    public MacSource MacSource { get; internal set; }

    /// <summary>Other hosts tried to reach it (an echo request or ARP who-has for it was seen).</summary>
    public bool TriedByOthers { get; internal set; }

    /// <summary>Entries dropped from its trackers' full tables.</summary>
    public long Evicted => _trackers.Sum(t => t.Evicted);

    internal void Observe(in DecodedFrame f)
    {
        foreach (var t in _trackers) t.Observe(f);
    }

    internal void Expire(long now)
    {
        foreach (var t in _trackers) t.Expire(now);
    }

    /// <summary>Raised for every piece of evidence, before the verdict engine weighs it (metrics).</summary>
    public event Action<HostMonitor, Evidence>? EvidenceObserved;

    /// <summary>Passes evidence to the verdict engine.</summary>
    public void Add(in Evidence evidence)
    {
        EvidenceObserved?.Invoke(this, evidence);
        Verdict.Observe(evidence);
    }
}
