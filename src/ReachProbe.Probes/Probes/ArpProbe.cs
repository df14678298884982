using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;
using ReachProbe.Wire;

namespace ReachProbe.Probes;

/// <summary>
/// ARP who-has for the target, built with PacketDotNet and injected with SharpPcap on the interface facing it, from that
/// interface's MAC and IP; the reply is matched on its sender IP. A reply from another MAC than the configured or last
/// seen one is flagged: a duplicate or changed address.
/// </summary>
public sealed class ArpProbe : IEngineProbe
{
    private readonly TimeProvider _time;

    private readonly IPAddress _target;
    private readonly uint _targetIp;
    private NetworkPath _path;
    private ArpEngine? _engine;
    private int _generation;

    /// <summary>Creates the probe.</summary>
    public ArpProbe(IPAddress target, NetworkPath path, PhysicalAddress? expectedMac = null, TimeProvider? time = null)
    {
        _target = target;
        _targetIp = Wire.Addresses.ToUInt(target);
        _path = path;
        ExpectedMac = expectedMac;
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc/>
    public string Name => "arp";

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

    private byte[] Request() => new EthernetPacket(_path.Mac, Addresses.ToPhysicalAddress(0xFFFF_FFFF_FFFF), EthernetType.Arp)
    {
        PayloadPacket = new ArpPacket(ArpOperation.Request, Addresses.ToPhysicalAddress(0), _target, _path.Mac, _path.Address),
    }.Bytes;

    /// <inheritdoc/>
    public void Dispose()
    {
        _engine?.Release();
        _engine = null;
    }
}
