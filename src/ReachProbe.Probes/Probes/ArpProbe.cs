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
public sealed class ArpProbe : IProbe
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
        _targetIp = BinaryPrimitives.ReadUInt32BigEndian(target.GetAddressBytes());
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
    /// every ARP probe on it. Nothing blocks a thread while the reply is awaited.
    /// </remarks>
    public async Task<ProbeResult> ProbeAsync(CancellationToken cancellation)
    {
        _engine ??= ArpEngine.Acquire(_path.Interface);
        var replies = _engine.Subscribe(_targetIp, out var unsubscribe);
        try
        {
            var started = _time.GetTimestamp();
            if (_engine.Send(Request()) is { } problem) return new ProbeResult(Name, ProbeStatus.Error, TimeSpan.Zero, problem);
            if (_engine.Generation != _generation)
            {
                // The handle was (re)opened: the interface may be new, with a new address or MAC. Ask with those next time.
                _generation = _engine.Generation;
                if (NetworkPath.Find(_target, _path.Interface, out _) is { } path) _path = path;
            }
            string? other = null;
            while (true)
            {
                var (mac, _) = await replies.ReadAsync(cancellation).ConfigureAwait(false);
                var elapsed = _time.GetElapsedTime(started);
                var answered = Addresses.ToPhysicalAddress(mac);
                if (ExpectedMac is not null && !ExpectedMac.Equals(answered))
                {
                    // Another MAC claims the address (a duplicate IP, a spoofer): it proves nothing about the target. Keep
                    // waiting for the target's own answer until the timeout.
                    other ??= Addresses.Mac(mac);
                    continue;
                }
                ExpectedMac ??= answered;
                return new ProbeResult(Name, ProbeStatus.Answered, elapsed, "is-at " + Addresses.Mac(mac))
                {
                    Mac = Addresses.Mac(mac),
                    Warning = other is null ? null : $"{other} answered too: duplicate or spoofed address",
                    ConflictMac = other,
                };
            }
        }
        finally
        {
            unsubscribe();
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
