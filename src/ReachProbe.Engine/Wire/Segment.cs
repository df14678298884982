namespace ReachProbe.Wire;

/// <summary>
/// What every host's trackers share about the captured segment: the monitor's own address, the capture's view (and
/// with it the capturing host's MAC), and which hosts answered the monitor's own ARP lately (from a switched view that is the only
/// sign that a host answers ARP at all). One per <see cref="WirePipeline"/>; single-threaded like it.
/// </summary>
public sealed class Segment
{
    /// <summary>Hosts remembered as answering the monitor's ARP.</summary>
    public const int MaxResponders = 4096;

    private readonly BoundedTable<UInt128, bool> _answeredMonitor = new(MaxResponders);

    /// <summary>
    /// The live agent's own address (0 offline). Its probes' requests are counted once, by the probe results, so the
    /// echo and ARP trackers leave them out: one lost probe must not weigh as two.
    /// </summary>
    public UInt128 Monitor { get; set; }

    /// <summary>The live agent's own IPv6 addresses (none offline), left out as <see cref="Monitor"/> is: its NDP and ICMPv6 probes come from them.</summary>
    public UInt128[] MonitorV6 { get; set; } = [];

    /// <summary>True for one of the live agent's own addresses (<see cref="Monitor"/>, <see cref="MonitorV6"/>).</summary>
    public bool IsMonitor(UInt128 ip) => ip != 0 && (ip == Monitor || Array.IndexOf(MonitorV6, ip) >= 0);

    /// <summary>The capture's view; null reads as full (as before views were known).</summary>
    public SegmentView? View { get; set; }

    /// <summary>The capturing host's MAC, when known or inferred (0 otherwise).</summary>
    public ulong MonitorMac => View?.OwnMac ?? 0;

    /// <summary>True while the capture's view is switched: a target's unicast conversations are invisible.</summary>
    public bool Switched => View?.View == CaptureView.Switched;

    /// <summary>
    /// True when a full view has watched the segment since <paramref name="since"/> (frame time): a view that became
    /// full later is no evidence about what happened before it.
    /// </summary>
    public bool FullSince(long since) => View is null || (View.View == CaptureView.Full && View.FullSince <= since);

    /// <summary><paramref name="ip"/> answered the monitor's ARP at <paramref name="time"/>.</summary>
    public void AnsweredMonitor(UInt128 ip, long time) => _answeredMonitor.Set(ip, true, time);

    /// <summary>True when <paramref name="ip"/> answered the monitor's ARP within <paramref name="within"/> before <paramref name="now"/>.</summary>
    public bool AnswersArp(UInt128 ip, long now, TimeSpan within) =>
        _answeredMonitor.TryGet(ip, out _, out var at) && now - at <= within.Ticks;
}
