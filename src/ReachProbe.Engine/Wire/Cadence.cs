namespace ReachProbe.Wire;

/// <summary>
/// A host's own rhythm of unsolicited frames (ARP, DHCP, mDNS, SSDP, IGMP, DDP…), learned while it answers, so that
/// from a switched view — where its unicast conversations are invisible — its silence can be judged against its
/// habit: a console that announces itself every 2 s and has said nothing for 30 s is gone; one that speaks once a
/// minute is not. Frames closer than <see cref="BurstGap"/> are one burst (an mDNS announcement is several packets);
/// the usual gap is the longest of the last <see cref="Remembered"/> gaps between bursts — the safe side, since a
/// false "down" is the one mistake ReachProbe exists to avoid. Pure logic on frame time.
/// </summary>
public sealed class Cadence
{
    /// <summary>Frames closer than this belong to one burst.</summary>
    public static readonly TimeSpan BurstGap = TimeSpan.FromSeconds(1);

    /// <summary>Gaps remembered.</summary>
    public const int Remembered = 8;

    /// <summary>Gaps needed before the cadence counts as learned.</summary>
    public const int Needed = 3;

    private readonly long[] _gaps = new long[Remembered];
    private int _count, _next;
    private long _lastBurst = long.MinValue, _lastFrame = long.MinValue;

    /// <summary>Gaps learned so far (at most <see cref="Remembered"/>).</summary>
    public int Gaps => _count;

    /// <summary>Takes one unsolicited frame at <paramref name="time"/> (UTC ticks).</summary>
    public void Observe(long time)
    {
        if (_lastFrame != long.MinValue && time - _lastFrame < BurstGap.Ticks)
        {
            if (time > _lastFrame) _lastFrame = time;
            return;
        }
        if (_lastBurst != long.MinValue && time > _lastBurst)
        {
            _gaps[_next] = time - _lastBurst;
            _next = (_next + 1) % Remembered;
            _count = Math.Min(_count + 1, Remembered);
        }
        _lastBurst = time;
        _lastFrame = time;
    }

    /// <summary>Forgets a gap that was not the host's habit (it was away: the gap ended with no cadence to judge).</summary>
    public void Break() => _lastBurst = _lastFrame = long.MinValue;

    /// <summary>The longest recent gap between bursts, or null until <see cref="Needed"/> gaps are known.</summary>
    public TimeSpan? UsualGap
    {
        get
        {
            if (_count < Needed) return null;
            long max = 0;
            for (var i = 0; i < _count; i++) max = Math.Max(max, _gaps[i]);
            return TimeSpan.FromTicks(max);
        }
    }

    /// <summary>How long without a frame means the host is gone: its usual gap × <paramref name="factor"/> within [<paramref name="floor"/>, <paramref name="max"/>], or <paramref name="max"/> when nothing was learned.</summary>
    public TimeSpan Overdue(double factor, TimeSpan floor, TimeSpan max) => UsualGap is { } gap
        ? TimeSpan.FromTicks(Math.Clamp((long)(gap.Ticks * factor), floor.Ticks, Math.Max(floor.Ticks, max.Ticks)))
        : max;
}
