using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;
using ReachProbe.Wire;

namespace ReachProbe.Probes;

/// <summary>
/// ARP who-has for the target, built with PacketDotNet and injected with SharpPcap on the interface facing it, from that
/// interface's MAC and IP; the reply is matched on its sender IP. A reply from another MAC than the configured or last
/// seen one is flagged: a duplicate or changed address. For an IPv6 target it is ARP's twin, <c>ndp</c>: a neighbour
/// solicitation (RFC 4861 §7.2.2) to the target's solicited-node group, or unicast to its MAC once known (as neighbour
/// unreachability detection asks), proven only by an advertisement of its address from that MAC.
/// </summary>
public sealed class ArpProbe : IEngineProbe
{
    private readonly TimeProvider _time;

    private readonly IPAddress _target;
    private readonly UInt128 _targetIp;
    private readonly bool _v6;
    private NetworkPath _path;
    private ArpEngine? _engine;
    private int _generation;

    /// <summary>Creates the probe.</summary>
    public ArpProbe(IPAddress target, NetworkPath path, PhysicalAddress? expectedMac = null, TimeProvider? time = null)
    {
        _target = target;
        _targetIp = Wire.Addresses.ToKey(target);
        _v6 = target.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        _path = path;
        ExpectedMac = expectedMac;
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc/>
    public string Name => _v6 ? "ndp" : "arp";

    /// <summary>The MAC the target should answer from: configured, else the last one seen.</summary>
    public PhysicalAddress? ExpectedMac { get; private set; }

    /// <inheritdoc/>
    /// <remarks>
    /// Sent and answered through the interface's shared <see cref="ArpEngine"/>: one handle and one reader thread for
    /// every ARP probe on it; timed out by one <see cref="DeadlineSweep"/>. Nothing waits on a thread meanwhile.
    /// </remarks>
    public void Start(TimeSpan timeout, Action<ProbeResult> done)
    {
        _engine ??= ArpEngine.Acquire(_path.Interface);
        var attempt = new Attempt(this, _time.GetTimestamp(), timeout, done);
        attempt.Unsubscribe = _engine.Subscribe(_targetIp, attempt.OnReply);
        if (_engine.Send(Request()) is { } problem)
        {
            attempt.Finish(new ProbeResult(Name, ProbeStatus.Error, TimeSpan.Zero, problem));
            return;
        }
        if (_engine.Generation != _generation)
        {
            // The handle was (re)opened: the interface may be new, with a new address or MAC. Ask with those next time.
            _generation = _engine.Generation;
            if (NetworkPath.Find(_target, _path.Interface, out _) is { } path) _path = path;
        }
        DeadlineSweep.For(_time).Add(attempt.Started, timeout, attempt.Expire);
    }

    /// <inheritdoc/>
    public Task<ProbeResult> ProbeAsync(CancellationToken cancellation) => EngineProbe.UntilCancelledAsync(this, cancellation);

    /// <summary>One attempt: the first of its answer from the expected MAC, its deadline or a failed send ends it.</summary>
    private sealed class Attempt(ArpProbe probe, long started, TimeSpan timeout, Action<ProbeResult> done)
    {
        private int _finished;
        private string? _other;

        public long Started => started;

        public Action? Unsubscribe { get; set; }

        public void OnReply(ulong mac, long ticks)
        {
            var elapsed = probe._time.GetElapsedTime(started);
            var answered = Addresses.ToPhysicalAddress(mac);
            if (probe.ExpectedMac is not null && !probe.ExpectedMac.Equals(answered))
            {
                // Another MAC claims the address (a duplicate IP, a spoofer): it proves nothing about the target. Keep
                // waiting for the target's own answer until the deadline.
                _other ??= Addresses.Mac(mac);
                return;
            }
            if (elapsed > timeout)
            {
                Expire();
                return;
            }
            if (Volatile.Read(ref _finished) != 0) return;
            probe.ExpectedMac ??= answered;
            Finish(new ProbeResult(probe.Name, ProbeStatus.Answered, elapsed, "is-at " + Addresses.Mac(mac))
            {
                Mac = Addresses.Mac(mac),
                Warning = _other is null ? null : $"{_other} answered too: duplicate or spoofed address",
                ConflictMac = _other,
            });
        }

        /// <summary>The deadline passed: a timeout, naming another MAC that answered meanwhile.</summary>
        public void Expire()
        {
            var elapsed = probe._time.GetElapsedTime(started);
            Finish(new ProbeResult(probe.Name, ProbeStatus.Timeout, elapsed, _other is null ? "timeout" : $"timeout; {_other} answered instead")
            {
                Warning = _other is null ? null : $"{_other} answered instead: duplicate or spoofed address",
                ConflictMac = _other,
            });
        }

        public void Finish(ProbeResult result)
        {
            if (Interlocked.Exchange(ref _finished, 1) != 0) return;
            Unsubscribe?.Invoke();
            done(result);
        }
    }

    private byte[] Request() => _v6 ? Solicitation() : new EthernetPacket(_path.Mac, Addresses.ToPhysicalAddress(0xFFFF_FFFF_FFFF), EthernetType.Arp)
    {
        PayloadPacket = new ArpPacket(ArpOperation.Request, Addresses.ToPhysicalAddress(0), _target, _path.Mac, _path.Address),
    }.Bytes;

    /// <summary>A neighbour solicitation for the target from the path's address, with our MAC in its source link-layer option.</summary>
    private byte[] Solicitation()
    {
        var target = _target.GetAddressBytes();
        // Unicast to the MAC it answered from; until then, to its solicited-node group ff02::1:ffXX:XXXX (33:33:ff:XX:XX:XX).
        byte[] dstMac, dst;
        if (ExpectedMac is { } known)
        {
            dstMac = known.GetAddressBytes();
            dst = target;
        }
        else
        {
            dstMac = [0x33, 0x33, 0xFF, target[13], target[14], target[15]];
            dst = [0xFF, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, target[13], target[14], target[15]];
        }
        var frame = new byte[14 + 40 + 32];
        dstMac.CopyTo(frame, 0);
        _path.Mac.GetAddressBytes().CopyTo(frame, 6);
        frame[12] = 0x86; frame[13] = 0xDD;
        frame[14] = 0x60;
        frame[19] = 32;   // payload length
        frame[20] = 58;   // ICMPv6
        frame[21] = 255;  // hop limit: neighbour discovery is refused otherwise
        _path.Address.GetAddressBytes().CopyTo(frame, 22);
        dst.CopyTo(frame, 38);
        var icmp = frame.AsSpan(54);
        icmp[0] = 135;
        target.CopyTo(icmp[8..]);
        icmp[24] = 1; icmp[25] = 1; // source link-layer address
        _path.Mac.GetAddressBytes().CopyTo(icmp[26..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], IcmpPacket.ChecksumV6(frame.AsSpan(22, 16), frame.AsSpan(38, 16), icmp));
        return frame;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _engine?.Release();
        _engine = null;
    }
}
