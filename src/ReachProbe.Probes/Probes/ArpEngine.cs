using System.Collections.Concurrent;
using ReachProbe.Resilience;
using ReachProbe.Wire;
using SharpPcap;
using SharpPcap.LibPcap;

namespace ReachProbe.Probes;

/// <summary>
/// One capture handle per interface for every ARP probe on it (and every NDP probe, ARP's IPv6 twin): requests are
/// injected through it, and one reader thread hands each reply (or neighbour advertisement) to the probes waiting for
/// that address. A thousand targets cost one handle and one thread,
/// not a thousand handles each polled by a blocked thread-pool thread. The handle is reopened after a failure or when
/// the interface was deleted and created again (a new ifindex).
/// </summary>
public sealed class ArpEngine : IDisposable
{
    private static readonly ConcurrentDictionary<string, ArpEngine> Engines = new();

    // Opening the capture device is infrastructure: after a failure it is tried again at a later send, with capped
    // exponential backoff, and sends in between fail at once with the same problem. Never a wait: Send runs on the
    // scheduler's thread inside the engine's lock (a retry that slept there — Polly's, 0.1 + 0.2 + 0.4 s — held up every
    // probe of the slot and every other ARP probe behind the lock).
    private readonly Backoff _openBackoff = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30));
    private readonly TimeProvider _time;
    private string? _openProblem;

    private readonly string _interface;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<UInt128, ConcurrentDictionary<Action<ulong, long>, byte>> _waiting = new();
    private LibPcapLiveDevice? _device;
    private string? _openedIndex;
    private DateTimeOffset _indexChecked;
    private Thread? _reader;
    private volatile bool _stop;
    private int _users;

    /// <summary>Counts the handle's openings: a probe re-reads its interface's address and MAC when it changes.</summary>
    public int Generation { get; private set; }

    /// <summary>An engine of its own for <paramref name="iface"/> (<see cref="Acquire"/> shares one per interface).</summary>
    internal ArpEngine(string iface, TimeProvider? time = null)
    {
        _interface = iface;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>How many times the capture device was tried (tests: a failing device is not retried at every send).</summary>
    internal int OpenAttempts { get; private set; }

    /// <summary>The engine of an interface, shared by every probe on it; release it with <see cref="Release"/>.</summary>
    public static ArpEngine Acquire(string iface)
    {
        while (true)
        {
            var engine = Engines.GetOrAdd(iface, i => new ArpEngine(i));
            lock (engine._gate)
            {
                if (engine._users >= 0)
                {
                    engine._users++;
                    return engine;
                }
            }
            Engines.TryRemove(new KeyValuePair<string, ArpEngine>(iface, engine)); // disposed meanwhile: make a new one
        }
    }

    /// <summary>A probe no longer needs the engine; the last one closes it.</summary>
    public void Release()
    {
        lock (_gate)
        {
            if (--_users > 0) return;
            _users = -1;
        }
        Engines.TryRemove(new KeyValuePair<string, ArpEngine>(_interface, this));
        Dispose();
    }

    /// <summary>
    /// Calls <paramref name="onReply"/> (on the engine's reader thread) with the sender MAC and capture time (UTC ticks)
    /// of every ARP reply from <paramref name="targetIp"/>, or neighbour advertisement of it (an IPv6 address; the MAC is
    /// then the frame's source), until the returned action unsubscribes it.
    /// </summary>
    public Action Subscribe(UInt128 targetIp, Action<ulong, long> onReply)
    {
        var set = _waiting.GetOrAdd(targetIp, _ => new());
        set[onReply] = 0;
        return () => set.TryRemove(onReply, out _);
    }

    /// <summary>Sends a frame; null when sent, else the problem (the handle is then reopened at the next attempt).</summary>
    public string? Send(byte[] frame)
    {
        lock (_gate)
        {
            // The interface deleted and made again (a new ifindex): reopen. Looked at once a second, not at every send
            // (a read of sysfs each: at a thousand targets a twentieth of the agent's CPU).
            var now = _time.GetUtcNow();
            if (_device is not null && now - _indexChecked >= TimeSpan.FromSeconds(1))
            {
                _indexChecked = now;
                if (SysNet.IfIndex(_interface) != _openedIndex) Reset();
            }
            if (_device is null)
            {
                if (!_openBackoff.Due(now)) return _openProblem;
                OpenAttempts++;
                if (Open() is { } problem)
                {
                    _openBackoff.Failed(now);
                    return _openProblem = problem;
                }
                _openBackoff.Succeeded();
                _indexChecked = now;
            }
            try
            {
                _device!.SendPacket(frame);
                return null;
            }
            catch (PcapException e)
            {
                Reset();
                return $"cannot send on {_interface}: {e.Message}";
            }
        }
    }

    private string? Open()
    {
        try
        {
            var device = LibPcapLiveDeviceList.New().FirstOrDefault(d => d.Name == _interface);
            if (device is null) return $"no capture device for interface {_interface}";
            device.Open(new DeviceConfiguration
            {
                Mode = DeviceModes.None,
                ReadTimeout = 100,
                Immediate = true,
                Snaplen = 128,
                // Replies only, 128 bytes each: 512 KiB of ring holds a few thousand — a thousand targets answering at
                // once — where libpcap's default 2 MiB stayed resident for nothing (measured: a Pi's RSS, README).
                BufferSize = 512 * 1024,
            });
            device.Filter = Filter;
            _device = device;
            _openedIndex = SysNet.IfIndex(_interface);
            Generation++;
            _stop = false;
            _reader = new Thread(() => Read(device)) { IsBackground = true, Name = $"arp replies {_interface}" };
            _reader.Start();
            return null;
        }
        catch (PcapException e) when (SysNet.IsPermissionProblem(e.Message))
        {
            return SysNet.NoCapturePermission(_interface);
        }
        catch (PcapException e)
        {
            return $"cannot open {_interface}: {e.Message}";
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            return CaptureException.NoLibpcap;
        }
    }

    private void Read(LibPcapLiveDevice device)
    {
        while (!_stop)
        {
            GetPacketStatus status;
            RawCapture? capture;
            try
            {
                status = device.GetNextPacket(out var packet);
                capture = status == GetPacketStatus.PacketRead ? packet.GetPacket() : null;
            }
            catch (Exception e) when (e is PcapException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            if (status == GetPacketStatus.Error) return; // the next Send reopens
            if (capture is null) continue;
            if (!FrameDecoder.TryDecode(LinkKind.Ethernet, capture.Data, 0, out var f) || !f.IsNeighbour || f.ArpOp != 2) continue;
            if (!_waiting.TryGetValue(f.ArpSenderIp, out var set)) continue;
            var at = capture.Timeval.Date.ToUniversalTime().Ticks;
            // An advertisement's target link-layer option names a MAC; the frame's source is who sent it.
            var mac = f.Kind == FrameKind.Ndp ? f.SrcMac : f.ArpSenderMac;
            foreach (var (onReply, _) in set) onReply(mac, at);
        }
    }

    /// <summary>ARP replies and neighbour advertisements only (an advertisement never carries extension headers).</summary>
    public const string Filter = "(arp and arp[6:2] = 2) or (icmp6 and ip6[40] = 136)";

    private void Reset()
    {
        _stop = true;
        var device = _device;
        _device = null;
        _reader?.Join(TimeSpan.FromSeconds(1));
        _reader = null;
        try
        {
            device?.Close();
        }
        catch (PcapException)
        {
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate) Reset();
    }
}
