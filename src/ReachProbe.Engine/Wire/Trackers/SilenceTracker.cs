using ReachProbe.Verdict;

namespace ReachProbe.Wire.Trackers;

/// <summary>
/// Signature 8: no frame from the target for too long. Reported once per silence, stamped with the last frame. In a
/// full view "too long" is <see cref="VerdictOptions.SilenceWindow"/>. In a switched view, where only the target's
/// broadcasts and its answers to the monitor show, it is the target's own <see cref="Cadence"/> — learned while it
/// answered — overdue by <see cref="VerdictOptions.OverdueFactor"/> (or <see cref="VerdictOptions.OverdueMax"/> when
/// it never broadcast); a target never seen at all is silent from when watching began.
/// </summary>
public sealed class SilenceTracker(TargetIdentity target, IEvidenceSink sink, VerdictOptions options, Func<bool> answering)
    : SignatureTracker(target, sink, options)
{
    private long? _lastFrame;
    private long? _watchingSince;
    private bool _reported;

    /// <summary>The target's cadence of unsolicited frames.</summary>
    public Cadence Cadence { get; } = new();

    /// <inheritdoc/>
    public override void Observe(in DecodedFrame f)
    {
        if (!Target.IsFrom(f)) return;
        _lastFrame = f.Time;
        _reported = false;
        // Its answers to the monitor keep time with our probes, not with its own habit.
        if (Target.Segment.MonitorMac != 0 && f.DstMac == Target.Segment.MonitorMac) return;
        if (f.IsIp && Target.IsMonitor(f.IpDst)) return;
        if (answering()) Cadence.Observe(f.Time);
        else Cadence.Break(); // the gap that ends an outage is not its habit
    }

    /// <summary>
    /// How long without a frame is a silence now: the full view's window when a full view has watched since the last
    /// frame (or since watching began), else the switched view's — a view that turned full during a silence says
    /// nothing about its start.
    /// </summary>
    public TimeSpan Window => Target.Segment.FullSince(_lastFrame ?? _watchingSince ?? long.MinValue)
        ? Options.SilenceWindow
        : Cadence.Overdue(Options.OverdueFactor, Options.OverdueFloor, Options.OverdueMax);

    /// <inheritdoc/>
    public override void Expire(long now)
    {
        _watchingSince ??= now;
        // Not answering now: whatever gap ends with its next frame is an outage, not its habit. (Learned, each outage
        // would have stretched the next one's window: 10 s, 30 s, 90 s… — seen in the latency benchmark.)
        if (!answering()) Cadence.Break();
        if (_reported) return;
        if (_lastFrame is { } last)
        {
            if (now - last <= Window.Ticks) return;
            _reported = true;
            Emit(EvidenceKind.Silence, last);
        }
        else if (!Target.Segment.FullSince(_watchingSince.Value) && now - _watchingSince.Value > Window.Ticks)
        {
            // Never seen: from a switched view that is no proof of absence until the longest silence has passed.
            _reported = true;
            Emit(EvidenceKind.Silence, _watchingSince.Value);
        }
    }
}
