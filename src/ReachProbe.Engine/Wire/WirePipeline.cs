using ReachProbe.Verdict;

namespace ReachProbe.Wire;

/// <summary>
/// The one pipeline behind both capture files and live capture: decode → learn hosts → route to each host's
/// trackers → verdict engine. Only the clock differs: offline it is packet time, live the system clock.
/// Single-threaded by design; the live agent feeds it from one reader loop.
/// </summary>
public sealed class WirePipeline
{
    private readonly VerdictOptions _options;
    private readonly TimeProvider _time;
    private readonly bool _discover;
    private readonly int _maxHosts;
    private readonly int _tableCapacity;
    private readonly Dictionary<UInt128, HostMonitor> _byIp = [];
    // A MAC's hosts: one, or a device watched at several addresses (its IPv4 and its IPv6 one): frames from the MAC
    // are every one of its hosts' evidence that it transmits.
    private readonly Dictionary<ulong, HostMonitor[]> _byMac = [];
    // First IPv4 source address seen behind each MAC: a MAC that sends for two addresses is a router (or a host
    // with aliases), so addresses learned from it are not on the segment.
    private readonly Dictionary<ulong, UInt128> _firstIpOfMac = [];
    private readonly HashSet<ulong> _sharedMacs = [];
    private const int MaxMacsRemembered = 4096;
    private const int PairCacheSize = 256;
    // Bitmaps over the low 16 bits of every tracked IP and MAC: most frames (background traffic) involve no tracked
    // host, and one bit test is cheaper than three dictionary lookups. False positives only cost the lookup.
    private readonly ulong[] _ipBits = new ulong[1024];
    private readonly ulong[] _macBits = new ulong[1024];
    private readonly (ulong Mac, UInt128 Ip)[] _pairCache = new (ulong, UInt128)[PairCacheSize];
    private long _nextTick = long.MinValue;
    private static readonly long TickTicks = TimeSpan.FromMilliseconds(100).Ticks;

    /// <summary>Creates a pipeline.</summary>
    /// <param name="options">Thresholds (validated by the caller).</param>
    /// <param name="time">The clock for the verdict engines.</param>
    /// <param name="targets">Targets to watch, with an optional known MAC (0 if none); null to discover every host
    /// that others try to reach.</param>
    /// <param name="maxHosts">Bound on hosts tracked in discovery mode.</param>
    /// <param name="tableCapacity">Bound of each tracker's request table (<see cref="Trackers.SignatureTracker.TableCapacityFor"/>
    /// for the live agent's target count).</param>
    public WirePipeline(VerdictOptions options, TimeProvider time, IReadOnlyDictionary<UInt128, ulong>? targets = null, int maxHosts = 1024,
        int tableCapacity = Trackers.SignatureTracker.DefaultTableCapacity)
    {
        _options = options;
        _time = time;
        _discover = targets is null;
        _maxHosts = maxHosts;
        _tableCapacity = tableCapacity;
        if (targets is null) return;
        foreach (var (ip, mac) in targets)
        {
            var h = AddHost(ip);
            if (mac != 0) SetMac(h, mac, MacSource.Configured);
        }
    }

    /// <summary>Frame counts.</summary>
    public WireCounters Counters { get; } = new();

    /// <summary>The live agent's own IPv4 address: its probes are counted by their results, not again from the wire.</summary>
    public UInt128 Monitor
    {
        get => Segment.Monitor;
        set => Segment.Monitor = value;
    }

    /// <summary>What the hosts' trackers share about the segment.</summary>
    public Segment Segment { get; } = new();

    /// <summary>Every host tracked, in the order first seen.</summary>
    public IReadOnlyCollection<HostMonitor> Hosts => _byIp.Values;

    /// <summary>
    /// Distinct addresses not tracked because <c>maxHosts</c> was reached (each counted once, however many frames named
    /// it; up to <see cref="MaxNotTrackedCounted"/>, past which the count stays there).
    /// </summary>
    public long HostsNotTracked => _notTracked.Count;

    /// <summary>The most addresses <see cref="HostsNotTracked"/> remembers, so a flood of made-up addresses costs bounded memory.</summary>
    public const int MaxNotTrackedCounted = 65_536;

    private readonly HashSet<UInt128> _notTracked = [];

    /// <summary>
    /// An echo reply, or a destination unreachable about an echo request, to the live agent's own address
    /// (<see cref="Monitor"/>) was on the wire: its sender's address and MAC, ICMP type (0 or 3), the echo's sequence
    /// number and time. The agent matches them with its ICMP probes' attempts.
    /// </summary>
    public event Action<UInt128, ulong, byte, ushort, long>? IcmpToMonitor;

    /// <summary>
    /// The capture's view of the segment (null: always full, as before views were known). Setting it applies its view
    /// to every host (without a timeline note); each later change reaches every host's verdict engine as evidence.
    /// </summary>
    public SegmentView? View
    {
        get => Segment.View;
        set
        {
            if (Segment.View is not null) Segment.View.Changed -= OnViewChanged;
            Segment.View = value;
            foreach (var h in _byIp.Values) h.Verdict.Switched = Segment.Switched;
            if (value is not null) value.Changed += OnViewChanged;
        }
    }

    private void OnViewChanged(CaptureView view, long at)
    {
        foreach (var h in _byIp.Values) h.ViewChanged(view == CaptureView.Switched, at);
    }

    /// <summary>Raised when a host starts being tracked.</summary>
    public event Action<HostMonitor>? HostAdded;

    /// <summary>Starts watching a target (a configuration reloaded with a new one); returns its host.</summary>
    public HostMonitor AddTarget(UInt128 ip, ulong mac)
    {
        if (_byIp.TryGetValue(ip, out var existing)) return existing;
        var h = AddHost(ip);
        if (mac != 0) SetMac(h, mac, MacSource.Configured);
        return h;
    }

    /// <summary>Stops watching a target; its state is dropped. The address bitmaps keep its bits (a false positive only costs a lookup).</summary>
    public bool RemoveTarget(UInt128 ip)
    {
        if (!_byIp.Remove(ip, out var h)) return false;
        if (h.Identity.Mac != 0) Unmap(h.Identity.Mac, h);
        Array.Clear(_pairCache);
        return true;
    }

    // Targets known by their MAC, whose addresses (one per family) are learned from the wire and followed (0 until first seen).
    private readonly Dictionary<ulong, Followed> _followed = [];
    // Moves refused because another target holds the address, each said once.
    private readonly HashSet<(ulong, UInt128)> _refused = [];

    private sealed class Followed
    {
        public UInt128 V4, V6;
        public long V6Seen = long.MinValue; // when its IPv6 address was last its word (a source, an advertisement)

        public ref UInt128 Slot(UInt128 ip) => ref ip >> 32 == 0 ? ref V4 : ref V6;
    }

    /// <summary>
    /// A followed MAC's IPv6 address moves only once it has not been the device's word (the source of its frames, its
    /// neighbour advertisements — answers to the ndp probe among them) for this long: a host has several IPv6 addresses
    /// at once (stable, temporary), and the one watched stays while it is in use.
    /// </summary>
    public static readonly TimeSpan V6AddressHeld = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A followed MAC (<see cref="Follow"/>) showed at a new address: <see cref="AddressMove.From"/> is 0 the first time
    /// in that address's family. Raised after the pipeline acted — the host made at the address, or moved to it — or,
    /// when another target holds the address (<see cref="AddressMove.Holder"/>), instead of a move (once for each MAC and address).
    /// </summary>
    public event Action<AddressMove>? AddressMoved;

    /// <summary>
    /// Watches the device whose MAC is <paramref name="mac"/> wherever its addresses go — its IPv4 address and its IPv6
    /// one, each a host of its own — at <paramref name="ip"/> now in that family (0: none known yet; a host is made when
    /// the MAC first shows with an address). The IPv4 address is learned from the MAC's ARP (sender address and Ethernet
    /// source both its own: ARP never crosses a router) and, until first known, from the source of its IPv4 frames; a
    /// later move needs its ARP (a DHCP client announces its new address). The IPv6 address (global or unique-local,
    /// never link-local) likewise from its neighbour discovery (advertisements, solicitations, duplicate address
    /// detection) and, until first known, from its IPv6 frames; it moves once the one watched is out of use
    /// (<see cref="V6AddressHeld"/>). Returns the host at <paramref name="ip"/>, or null when it is 0.
    /// </summary>
    public HostMonitor? Follow(ulong mac, UInt128 ip)
    {
        if (!_followed.TryGetValue(mac, out var f)) _followed[mac] = f = new Followed();
        Mark(_macBits, mac);
        if (ip == 0) return null;
        f.Slot(ip) = ip;
        return AddTarget(ip, mac);
    }

    /// <summary>Stops following <paramref name="mac"/> and watching its hosts; false when it was not followed.</summary>
    public bool Unfollow(ulong mac)
    {
        if (!_followed.Remove(mac, out var f)) return false;
        if (f.V4 != 0) RemoveTarget(f.V4);
        if (f.V6 != 0) RemoveTarget(f.V6);
        return true;
    }

    /// <summary>The IPv4 address a followed MAC is at now, else its IPv6 one (0: not seen yet), or null when it is not followed.</summary>
    public UInt128? AddressOf(ulong mac) => _followed.TryGetValue(mac, out var f) ? f.V4 != 0 ? f.V4 : f.V6 : null;

    /// <summary>The addresses a followed MAC is at now, per family (0: none yet), or null when it is not followed.</summary>
    public (UInt128 V4, UInt128 V6)? AddressesOf(ulong mac) => _followed.TryGetValue(mac, out var f) ? (f.V4, f.V6) : null;

    /// <summary>How many MAC-address pairs a refused move is remembered for (each refusal is said once).</summary>
    private const int MaxRefused = 1024;

    /// <summary>True for an IPv6 address a device is watched at: global or unique-local unicast (not link-local, multicast or ::/96).</summary>
    public static bool IsWatchableV6(UInt128 ip) => ip >> 32 != 0 && ip >> 120 != 0xFF && ip >> 118 != 0x3FA;

    private void FollowedAt(ulong mac, UInt128 ip, long time)
    {
        if (!_followed.TryGetValue(mac, out var f) || !IsUnicast(ip)) return;
        var v6 = ip >> 32 != 0;
        if (v6 && !IsWatchableV6(ip)) return;
        ref var slot = ref f.Slot(ip);
        var current = slot;
        if (current == ip)
        {
            if (v6) f.V6Seen = time;
            return;
        }
        // Its IPv6 address in use is kept: a host speaks from several at once.
        if (v6 && current != 0 && time - f.V6Seen < V6AddressHeld.Ticks) return;
        var host = current == 0 ? null : _byIp.GetValueOrDefault(current);
        if (_byIp.TryGetValue(ip, out var holder) && holder != host)
        {
            if (_refused.Count < MaxRefused && _refused.Add((mac, ip))) AddressMoved?.Invoke(new AddressMove(mac, current, ip, time, host, holder));
            return;
        }
        slot = ip;
        if (v6) f.V6Seen = time;
        if (host is null)
        {
            host = AddHost(ip);
            SetMac(host, mac, MacSource.Configured);
        }
        else Rekey(host, current, ip);
        AddressMoved?.Invoke(new AddressMove(mac, current, ip, time, host, null));
    }

    /// <summary>
    /// Moves the target at <paramref name="from"/> to <paramref name="to"/> (its name resolves to another address now),
    /// its state carried on, with <see cref="AddressMoved"/> raised as for a followed MAC — refused, and said, when
    /// another target holds <paramref name="to"/>. False when no target is at <paramref name="from"/>.
    /// </summary>
    public bool MoveTarget(UInt128 from, UInt128 to, long time)
    {
        if (!_byIp.TryGetValue(from, out var host)) return false;
        if (from == to) return true;
        if (_byIp.TryGetValue(to, out var holder))
        {
            AddressMoved?.Invoke(new AddressMove(host.Identity.Mac, from, to, time, host, holder));
            return true;
        }
        if (_followed.TryGetValue(host.Identity.Mac, out var f) && f.Slot(from) == from && (from >> 32 == 0) == (to >> 32 == 0)) f.Slot(to) = to;
        Rekey(host, from, to);
        AddressMoved?.Invoke(new AddressMove(host.Identity.Mac, from, to, time, host, null));
        return true;
    }

    private void Rekey(HostMonitor host, UInt128 from, UInt128 to)
    {
        _byIp.Remove(from);
        _byIp[to] = host;
        Mark(_ipBits, (ulong)to);
        Array.Clear(_pairCache);
        host.Move(to);
    }

    /// <summary>Looks up a tracked host.</summary>
    public HostMonitor? Find(UInt128 ip) => _byIp.GetValueOrDefault(ip);

    /// <summary>True when the host's address is on the captured segment (its MAC is its own, not a router's).</summary>
    public bool IsOnSegment(HostMonitor h) => h.MacSource switch
    {
        MacSource.Arp or MacSource.Configured => true,
        MacSource.IPv4 => !_sharedMacs.Contains(h.Identity.Mac),
        _ => false,
    };

    /// <summary>Decodes and processes one frame.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Process(LinkKind link, ReadOnlySpan<byte> data, long time)
    {
        FrameDecoder.TryDecode(link, data, time, out var f);
        Process(f, data.Length);
    }

    /// <summary>Processes one decoded frame.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Process(in DecodedFrame f, int length)
    {
        Counters.Count(f, length);
        if (f.Issue == DecodeIssue.TruncatedLinkHeader) return;
        if (f.IsIp && Segment.IsMonitor(f.IpDst) && (f.Transport == TransportKind.IcmpEcho && f.IcmpType == 0 || f.Transport == TransportKind.IcmpOther && f.IcmpType == 3))
            IcmpToMonitor?.Invoke(f.IpSrc, f.SrcMac, f.IcmpType, f.IcmpSeq, f.Time);
        Learn(f);
        Segment.View?.Observe(f);

        // Route to every host the frame involves, once each.
        HostMonitor? a = null, b = null, c = null;
        if (f.SrcMac != 0 && Has(_macBits, f.SrcMac) && _byMac.TryGetValue(f.SrcMac, out var own))
            foreach (var h in own) Route(h, ref a, ref b, ref c);
        if (f.IsIp)
        {
            Route(ByIp(f.IpSrc), ref a, ref b, ref c);
            Route(ByIp(f.IpDst), ref a, ref b, ref c);
        }
        else if (f.IsNeighbour)
        {
            Route(ByIp(f.ArpSenderIp), ref a, ref b, ref c);
            Route(ByIp(f.ArpTargetIp), ref a, ref b, ref c);
        }
        a?.Observe(f);
        b?.Observe(f);
        c?.Observe(f);
        Advance(f.Time);
    }

    private HostMonitor? ByIp(UInt128 ip) => Has(_ipBits, (ulong)ip) ? _byIp.GetValueOrDefault(ip) : null;

    private static bool Has(ulong[] bits, ulong key) => (bits[(key >> 6) & 1023] & (1UL << (int)(key & 63))) != 0;

    private static void Mark(ulong[] bits, ulong key) => bits[(key >> 6) & 1023] |= 1UL << (int)(key & 63);

    private static void Route(HostMonitor? h, ref HostMonitor? a, ref HostMonitor? b, ref HostMonitor? c)
    {
        if (h is null || h == a || h == b || h == c) return;
        if (a is null) a = h;
        else if (b is null) b = h;
        else c ??= h;
    }

    /// <summary>Lets time pass: settles timed-out requests, and decisions that waited for time, every 100 ms of <paramref name="now"/>.</summary>
    public void Advance(long now)
    {
        if (now < _nextTick) return;
        _nextTick = now + TickTicks;
        Segment.View?.Tick(now);
        foreach (var h in _byIp.Values) h.Expire(now);
    }

    /// <summary>Settles everything that has timed out by <paramref name="now"/> (end of a capture file).</summary>
    public void Flush(long now)
    {
        foreach (var h in _byIp.Values) h.Expire(now);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Learn(in DecodedFrame f)
    {
        if (f.IsNeighbour)
        {
            var spa = f.ArpSenderIp;
            if (_followed.Count > 0 && f.ArpSenderMac == f.SrcMac && _followed.ContainsKey(f.SrcMac))
            {
                // Its own ARP names its IPv4 address; its NDP the IPv6 one it advertises, solicits from, or is about to take (DAD: from ::).
                var own = f.Kind == FrameKind.Arp ? spa : f.ArpOp == 1 && spa == 0 ? f.ArpTargetIp : spa;
                if (own != 0) FollowedAt(f.SrcMac, own, f.Time);
            }
            if (spa != 0 && f.ArpSenderMac != 0 && GetOrDiscover(spa) is { } sender) LearnArp(sender, f.ArpSenderMac, f.Time);
            if (f.ArpOp == 1 && spa != 0 && f.ArpTargetIp != spa && GetOrDiscover(f.ArpTargetIp) is { } asked) asked.TriedByOthers = true;
            if (f.ArpOp == 2 && spa != 0 && (Segment.IsMonitor(f.ArpTargetIp) || (Segment.MonitorMac != 0 && f.DstMac == Segment.MonitorMac)))
                Segment.AnsweredMonitor(spa, f.Time);
        }
        else if (f.IsIp)
        {
            if (f.Transport == TransportKind.IcmpEcho && f.IcmpType == 8 && f.IpSrc != f.IpDst && GetOrDiscover(f.IpDst) is { } pinged)
                pinged.TriedByOthers = true;
            if (f.SrcMac == 0) return;
            if (_followed.Count > 0 && _followed.TryGetValue(f.SrcMac, out var followed) && !_sharedMacs.Contains(f.SrcMac))
            {
                // Its frames name its address until one is known; then only refresh its IPv6 one as in use.
                if (f.Kind == FrameKind.IPv4 ? followed.V4 == 0 : followed.V6 == 0 || followed.V6 == f.IpSrc) FollowedAt(f.SrcMac, f.IpSrc, f.Time);
            }
            // An echo reply from a known host's address but another MAC: a duplicate address answering pings.
            if (f.Transport == TransportKind.IcmpEcho && f.IcmpType == 0 && ByIp(f.IpSrc) is { MacSource: not MacSource.None } replier
                && replier.Identity.Mac != f.SrcMac && !_sharedMacs.Contains(f.SrcMac))
                ArpClaim(replier, f.SrcMac, f.Time);
            // A host has several IPv6 addresses (link-local, global, temporary) and its MAC is learned from its NDP: only
            // IPv4 tells a router's MAC by its many addresses, and lends a host a tentative MAC.
            if (f.Kind != FrameKind.IPv4) return;
            NoteMacAddress(f.SrcMac, f.IpSrc);
            if (ByIp(f.IpSrc) is { MacSource: MacSource.None } src && !_sharedMacs.Contains(f.SrcMac))
                SetMac(src, f.SrcMac, MacSource.IPv4);
        }
    }

    /// <summary>
    /// A host's MAC is its identity: an ARP from another MAC for its address is a conflict (arpwatch's "flip flop"),
    /// never a new identity, unless the MAC was only tentative (learned from IPv4, which a router forwards) or the
    /// change holds (see <see cref="HostMonitor.ClaimedBy"/>).
    /// </summary>
    private void LearnArp(HostMonitor h, ulong mac, long time) => ArpClaim(h, mac, time);

    /// <summary>
    /// <paramref name="mac"/> answered ARP for <paramref name="h"/>'s address at <paramref name="time"/> (on the wire, or
    /// to the agent's ARP probe). True when that is the host's own MAC (learned now if it had none, or a change that
    /// held); false for a conflict, which proves nothing.
    /// </summary>
    public bool ArpClaim(HostMonitor h, ulong mac, long time)
    {
        if (h.Identity.Mac == mac)
        {
            if (h.MacSource == MacSource.IPv4) h.MacSource = MacSource.Arp;
            return true;
        }
        // Learned from IPv4 is tentative only while that MAC may be a router's (it speaks for other addresses).
        var tentative = h.MacSource == MacSource.None || h.MacSource == MacSource.IPv4 && _sharedMacs.Contains(h.Identity.Mac);
        if (!tentative && !h.ClaimedBy(mac, time, _options.MacChange)) return false;
        SetMac(h, mac, MacSource.Arp);
        return true;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void NoteMacAddress(ulong mac, UInt128 ip)
    {
        // Most frames repeat a (MAC, IP) pair seen a moment ago: a small direct-mapped cache skips the dictionary.
        var slot = (int)((mac ^ (mac >> 17) ^ (ulong)ip) & (PairCacheSize - 1));
        if (_pairCache[slot].Mac == mac && _pairCache[slot].Ip == ip) return;
        _pairCache[slot] = (mac, ip);
        if (_firstIpOfMac.TryGetValue(mac, out var first))
        {
            if (first == ip || !_sharedMacs.Add(mac)) return;
            // A router's MAC: unlearn what was tentatively learned from it.
            if (_byMac.TryGetValue(mac, out var hosts))
                foreach (var h in hosts.Where(h => h.MacSource == MacSource.IPv4))
                {
                    Unmap(mac, h);
                    h.Identity.Mac = 0;
                    h.MacSource = MacSource.None;
                }
        }
        else if (_firstIpOfMac.Count < MaxMacsRemembered && IsUnicast(ip))
        {
            _firstIpOfMac[mac] = ip;
        }
    }

    private HostMonitor? GetOrDiscover(UInt128 ip)
    {
        if (_byIp.TryGetValue(ip, out var h)) return h;
        if (!_discover || !IsUnicast(ip)) return null;
        if (_byIp.Count >= _maxHosts)
        {
            if (_notTracked.Count < MaxNotTrackedCounted) _notTracked.Add(ip);
            return null;
        }
        return AddHost(ip);
    }

    private HostMonitor AddHost(UInt128 ip)
    {
        var h = new HostMonitor(ip, _options, _time, Segment, _tableCapacity);
        _byIp[ip] = h;
        Mark(_ipBits, (ulong)ip);
        HostAdded?.Invoke(h);
        return h;
    }

    private void SetMac(HostMonitor h, ulong mac, MacSource source)
    {
        if (h.Identity.Mac != 0) Unmap(h.Identity.Mac, h);
        h.Identity.Mac = mac;
        h.MacSource = source;
        var hosts = _byMac.GetValueOrDefault(mac) ?? [];
        // At most a few addresses for one MAC: beyond them it speaks for others (a router), and the newest count.
        if (!hosts.Contains(h)) _byMac[mac] = hosts.Length < MaxHostsPerMac ? [.. hosts, h] : [.. hosts[1..], h];
        Mark(_macBits, mac);
    }

    /// <summary>The most hosts one MAC's frames are routed to (a device's IPv4 address and its IPv6 ones).</summary>
    private const int MaxHostsPerMac = 2;

    private void Unmap(ulong mac, HostMonitor h)
    {
        if (!_byMac.TryGetValue(mac, out var hosts)) return;
        var rest = hosts.Where(x => x != h).ToArray();
        if (rest.Length == 0) _byMac.Remove(mac);
        else _byMac[mac] = rest;
    }

    /// <summary>True for an IPv4 address a host can own: not 0.0.0.0/8, loopback, multicast or limited broadcast.</summary>
    public static bool IsUnicast(uint ip) => (ip >> 24) is not (0 or 127) && ip < 0xE000_0000;

    /// <summary>True for an address a host can own (see <see cref="DecodedFrame"/>): an IPv4 one as above; IPv6 not multicast or in ::/96 (unspecified, loopback).</summary>
    public static bool IsUnicast(UInt128 ip) => ip >> 32 == 0 ? IsUnicast((uint)ip) : ip >> 120 != 0xFF;
}

/// <summary>
/// A target followed by its MAC showed at another address: from <paramref name="From"/> (0 the first time) to
/// <paramref name="To"/> at <paramref name="Time"/>. <paramref name="Host"/> is its host (null when refused before it had
/// one); <paramref name="Holder"/>, when not null, is the other target that holds <paramref name="To"/>, and the move was
/// refused.
/// </summary>
public readonly record struct AddressMove(ulong Mac, UInt128 From, UInt128 To, long Time, HostMonitor? Host, HostMonitor? Holder);
