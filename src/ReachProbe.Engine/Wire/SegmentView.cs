namespace ReachProbe.Wire;

/// <summary>What the capture can see of the segment.</summary>
public enum CaptureView : byte
{
    /// <summary>
    /// Only its own traffic and other hosts' broadcasts and multicasts: a plain switch port, a Wi-Fi client. A target's
    /// unicast conversations are invisible, so the absence of its frames is weak evidence.
    /// </summary>
    Switched,
    /// <summary>Unicast frames between other hosts too: an inline bridge, a mirror (SPAN) port, the router itself, a hub.</summary>
    Full,
}

/// <summary>
/// Decides the capture's view from the frames themselves: <see cref="CaptureView.Full"/> as soon as a unicast frame
/// between two other hosts shows, back to <see cref="CaptureView.Switched"/> after <see cref="FallBack"/> without one
/// (hysteresis: a quiet LAN at night must not flip the view every minute). Pure logic on frame time.
/// </summary>
public sealed class SegmentView(TimeSpan? fallBack = null, CaptureView? forced = null)
{
    private long _lastThirdParty = long.MinValue;

    /// <summary>How long without third-party unicast before a full view falls back to switched. Default 3 minutes.</summary>
    public TimeSpan FallBack { get; } = fallBack ?? TimeSpan.FromMinutes(3);

    /// <summary>The capturing host's MAC (live capture). Until it is known nothing is decided: a capture file's unicast
    /// conversations all around one host look the same whether that host captured them or an inline bridge beside it did.</summary>
    public ulong OwnMac { get; set; }

    /// <summary>The view now: forced by the configuration, else detected (switched until shown otherwise).</summary>
    public CaptureView View { get; private set; } = forced ?? CaptureView.Switched;

    /// <summary>Raised when the detected view changes, with the frame time.</summary>
    public event Action<CaptureView, long>? Changed;

    /// <summary>Looks at one frame; returns true when it changed the view.</summary>
    public bool Observe(in DecodedFrame f)
    {
        if (forced is not null || f.SrcMac == 0 || IsGroup(f.DstMac) || IsGroup(f.SrcMac)) return false;
        if (OwnMac == 0) return false;
        if (f.SrcMac == OwnMac || f.DstMac == OwnMac) return Tick(f.Time);
        _lastThirdParty = f.Time;
        return Set(CaptureView.Full, f.Time);
    }

    /// <summary>Lets time pass: a full view with no third-party unicast for <see cref="FallBack"/> becomes switched.</summary>
    public bool Tick(long now) =>
        forced is null && View == CaptureView.Full && now - _lastThirdParty > FallBack.Ticks && Set(CaptureView.Switched, now);

    private bool Set(CaptureView view, long at)
    {
        if (View == view) return false;
        View = view;
        Changed?.Invoke(view, at);
        return true;
    }

    private static bool IsGroup(ulong mac) => (mac & 0x0100_0000_0000) != 0;
}
