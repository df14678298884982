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
/// Decides the capture's view from the frames themselves: <see cref="CaptureView.Full"/> as soon as unicast between two
/// other hosts the segment already knows shows both ways (A→B and B→A within <see cref="Conversation"/>, each host
/// seen on the segment at least <see cref="Acquaintance"/> before), back to <see cref="CaptureView.Switched"/> after
/// <see cref="FallBack"/> without it (hysteresis: a quiet LAN at night must not flip the view every minute).
/// One direction alone is not enough: a learning switch floods unicast to a MAC it does not know (yet, or again after
/// a port went down) to every port for a moment, until that host answers — and its answer is not flooded. Nor are
/// hosts never seen before: a host on another switch port that toggles its link (the switch forgets what it learned)
/// and sends unicast between two made-up MACs, one way and then the other, is flooded both ways — and used to make a
/// switch port's view full within a second (issue 24). Pure logic on frame time.
/// </summary>
/// <remarks>
/// "Other hosts" needs the capturing host's MAC (<see cref="OwnMac"/>): the live agent reads it from its interface.
/// A capture file does not say who took it, so there it is inferred: when one MAC is in every unicast frame and it
/// pings (a monitor probing from a switch port), that MAC took the capture and the view is switched; when no MAC is in
/// every unicast frame the view is full. A capture of two hosts talking only to each other (an inline bridge beside
/// one console) stays as it started: <c>initial</c>, full for files, since that is the placement the field report used.
/// </remarks>
public sealed class SegmentView(TimeSpan? fallBack = null, CaptureView? forced = null, CaptureView initial = CaptureView.Switched)
{
    private long _lastThirdParty = long.MinValue;
    private readonly Dictionary<(ulong Src, ulong Dst), long> _oneWay = [];
    private const int MaxOneWay = 1024;
    private readonly Dictionary<ulong, long> _firstSeen = [];
    private ulong _lastSource;

    /// <summary>Hosts remembered as known to the segment (their MAC and when it was first seen).</summary>
    public const int MaxKnown = 4096;

    /// <summary>How close the two directions of a third-party conversation must be.</summary>
    public static readonly TimeSpan Conversation = TimeSpan.FromSeconds(10);

    /// <summary>How long before a conversation both its hosts must have been seen on the segment.</summary>
    public static readonly TimeSpan Acquaintance = TimeSpan.FromSeconds(10);
    private ulong _candidateA, _candidateB, _pinger;
    private bool _sawUnicast;

    /// <summary>How long without third-party unicast before a full view falls back to switched. Default 3 minutes.</summary>
    public TimeSpan FallBack { get; } = fallBack ?? TimeSpan.FromMinutes(3);

    /// <summary>The capturing host's MAC: given (live capture) or inferred from a capture file (<see cref="Inferred"/>); 0 while unknown.</summary>
    public ulong OwnMac { get; set; }

    /// <summary>True when <see cref="OwnMac"/> was inferred from the frames.</summary>
    public bool Inferred { get; private set; }

    /// <summary>The view now: forced by the configuration, else detected.</summary>
    public CaptureView View { get; private set; } = forced ?? initial;

    /// <summary>
    /// Since when the view has been full (frame time): <see cref="long.MinValue"/> when it was full from the start
    /// (configured, or assumed for a file), <see cref="long.MaxValue"/> while it is switched. A silence that began
    /// before it was not watched by a full view.
    /// </summary>
    public long FullSince { get; private set; } = (forced ?? initial) == CaptureView.Full ? long.MinValue : long.MaxValue;

    /// <summary>True once the frames decided the view (rather than its starting value).</summary>
    public bool Decided { get; private set; }

    /// <summary>True when the view was forced (configuration or <c>--view</c>) rather than detected.</summary>
    public bool Forced => forced is not null;

    /// <summary>Raised when the detected view changes, with the frame time.</summary>
    public event Action<CaptureView, long>? Changed;

    /// <summary>Looks at one frame; returns true when it changed the view.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public bool Observe(in DecodedFrame f)
    {
        if (forced is not null || f.SrcMac == 0 || IsGroup(f.SrcMac)) return false;
        // Frames come in runs from one source: the table is asked once a run, not once a frame.
        if (f.SrcMac != _lastSource)
        {
            _lastSource = f.SrcMac;
            if (_firstSeen.Count < MaxKnown) _firstSeen.TryAdd(f.SrcMac, f.Time);
        }
        if (IsGroup(f.DstMac)) return false;
        if (OwnMac == 0) return Infer(f);
        if (f.SrcMac == OwnMac || f.DstMac == OwnMac) return Tick(f.Time);
        if (!(_oneWay.TryGetValue((f.DstMac, f.SrcMac), out var back) && f.Time - back <= Conversation.Ticks && back - f.Time <= Conversation.Ticks)
            || !Known(f.SrcMac, f.Time) || !Known(f.DstMac, f.Time))
        {
            if (_oneWay.Count >= MaxOneWay && !_oneWay.ContainsKey((f.SrcMac, f.DstMac))) _oneWay.Clear();
            _oneWay[(f.SrcMac, f.DstMac)] = f.Time;
            return Tick(f.Time);
        }
        _lastThirdParty = f.Time;
        return Set(CaptureView.Full, f.Time);
    }

    /// <summary>True when <paramref name="mac"/> was first seen at least <see cref="Acquaintance"/> before <paramref name="now"/>.</summary>
    private bool Known(ulong mac, long now) => _firstSeen.TryGetValue(mac, out var first) && now - first >= Acquaintance.Ticks;

    /// <summary>Lets time pass: a full view with no third-party unicast for <see cref="FallBack"/> becomes switched.</summary>
    public bool Tick(long now) =>
        forced is null && OwnMac != 0 && View == CaptureView.Full && now - _lastThirdParty > FallBack.Ticks && Set(CaptureView.Switched, now);

    private bool Infer(in DecodedFrame f)
    {
        if (!_sawUnicast)
        {
            (_candidateA, _candidateB, _sawUnicast) = (f.SrcMac, f.DstMac, true);
        }
        else
        {
            if (_candidateA != f.SrcMac && _candidateA != f.DstMac) _candidateA = 0;
            if (_candidateB != f.SrcMac && _candidateB != f.DstMac) _candidateB = 0;
        }
        if (_candidateA == 0 && _candidateB == 0)
        {
            // No host is in every conversation: the capture sees other hosts' unicast.
            _sawUnicast = false;
            _lastThirdParty = f.Time;
            return Set(CaptureView.Full, f.Time);
        }
        if (f.Transport == TransportKind.IcmpEcho && f.IcmpType == 8 && (f.SrcMac == _candidateA || f.SrcMac == _candidateB))
            _pinger = _pinger == 0 || _pinger == f.SrcMac ? f.SrcMac : ulong.MaxValue; // both candidates ping: no telling
        var only = _candidateA == 0 ? _candidateB : _candidateB == 0 ? _candidateA : 0;
        var own = only != 0 && _pinger == only ? only
            : only == 0 && _pinger is not 0 and not ulong.MaxValue ? _pinger
            : 0;
        if (own == 0) return false;
        OwnMac = own;
        Inferred = true;
        return Set(CaptureView.Switched, f.Time);
    }

    private bool Set(CaptureView view, long at)
    {
        Decided = true;
        if (View == view) return false;
        View = view;
        FullSince = view == CaptureView.Full ? at : long.MaxValue;
        Changed?.Invoke(view, at);
        return true;
    }

    private static bool IsGroup(ulong mac) => (mac & 0x0100_0000_0000) != 0;
}
