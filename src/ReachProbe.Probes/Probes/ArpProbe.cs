using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;
using Polly;
using Polly.Retry;
using ReachProbe.Wire;
using SharpPcap;
using SharpPcap.LibPcap;

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
    private LibPcapLiveDevice? _device;
    private string? _openedIndex;

    // Opening a capture device is infrastructure: retried with backoff when the device is busy or coming up; a
    // missing permission is final and not retried.
    private static readonly ResiliencePipeline OpenPipeline = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = 3,
            Delay = TimeSpan.FromMilliseconds(100),
            BackoffType = DelayBackoffType.Exponential,
            ShouldHandle = new PredicateBuilder().Handle<PcapException>(e => !IsPermission(e)),
        })
        .Build();

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
    // The capture read blocks (20 ms at a time): on a thread of its own, so a hundred ARP probes in flight never starve
    // the thread pool that the scheduler, the analysis loop and /metrics run on.
    public Task<ProbeResult> ProbeAsync(CancellationToken cancellation) =>
        Task.Factory.StartNew(() => Probe(cancellation), cancellation, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private ProbeResult Probe(CancellationToken cancellation)
    {
        // The interface deleted and created again has a new index: the old handle would never see a frame again.
        if (_device is not null && IfIndex(_path.Interface) != _openedIndex) Reset();
        if (_device is null && Open() is { } problem) return new ProbeResult(Name, ProbeStatus.Error, TimeSpan.Zero, problem);
        var device = _device!;
        while (device.GetNextPacket(out _) == GetPacketStatus.PacketRead) { } // stale replies
        var request = new EthernetPacket(_path.Mac, Addresses.ToPhysicalAddress(0xFFFF_FFFF_FFFF), EthernetType.Arp)
        {
            PayloadPacket = new ArpPacket(ArpOperation.Request, Addresses.ToPhysicalAddress(0), _target, _path.Mac, _path.Address),
        };
        var started = _time.GetTimestamp();
        try
        {
            device.SendPacket(request.Bytes);
        }
        catch (PcapException e)
        {
            Reset();
            return new ProbeResult(Name, ProbeStatus.Error, TimeSpan.Zero, $"cannot send on {_path.Interface}: {e.Message}");
        }
        string? other = null;
        while (!cancellation.IsCancellationRequested)
        {
            var status = device.GetNextPacket(out var capture);
            if (status == GetPacketStatus.Error)
            {
                var error = device.LastError;
                Reset();
                return new ProbeResult(Name, ProbeStatus.Error, _time.GetElapsedTime(started), $"capture on {_path.Interface} failed: {error}");
            }
            if (status != GetPacketStatus.PacketRead) continue;
            if (!FrameDecoder.TryDecode(LinkKind.Ethernet, capture.Data, 0, out var f) || f.Kind != FrameKind.Arp) continue;
            if (f.ArpOp != 2 || f.ArpSenderIp != _targetIp) continue;
            var elapsed = _time.GetElapsedTime(started);
            var mac = Addresses.ToPhysicalAddress(f.ArpSenderMac);
            if (ExpectedMac is not null && !ExpectedMac.Equals(mac))
            {
                // Another MAC claims the address (a duplicate IP, a spoofer): it proves nothing about the target. Keep
                // waiting for the target's own answer until the timeout.
                other ??= Addresses.Mac(f.ArpSenderMac);
                continue;
            }
            ExpectedMac ??= mac;
            return new ProbeResult(Name, ProbeStatus.Answered, elapsed, "is-at " + Addresses.Mac(f.ArpSenderMac))
            {
                Mac = Addresses.Mac(f.ArpSenderMac),
                Warning = other is null ? null : $"{other} answered too: duplicate or spoofed address",
                ConflictMac = other,
            };
        }
        if (other is not null)
        {
            return new ProbeResult(Name, ProbeStatus.Timeout, _time.GetElapsedTime(started), $"no answer from {Format(ExpectedMac!)}; {other} answered instead")
            {
                Warning = $"answered from {other}, expected {Format(ExpectedMac!)}: duplicate or spoofed address",
                ConflictMac = other,
            };
        }
        return new ProbeResult(Name, ProbeStatus.Timeout, _time.GetElapsedTime(started), "timeout");
    }

    /// <summary>
    /// Drops the capture handle after a failure (the interface went away): the next attempt opens a new one, on the
    /// interface as it is then (a re-created interface has a new index and may have a new MAC).
    /// </summary>
    private void Reset()
    {
        try
        {
            _device?.Close();
        }
        catch (PcapException)
        {
        }
        _device = null;
    }

    private string? Open()
    {
        try
        {
            if (NetworkPath.Find(_target, _path.Interface, out _) is { } path) _path = path;
            var device = LibPcapLiveDeviceList.New().FirstOrDefault(d => d.Name == _path.Interface);
            if (device is null) return $"no capture device for interface {_path.Interface}";
            OpenPipeline.Execute(() => device.Open(new DeviceConfiguration
            {
                Mode = DeviceModes.None,
                ReadTimeout = 20,
                Immediate = true,
                Snaplen = 128,
            }));
            device.Filter = "arp";
            _device = device;
            _openedIndex = IfIndex(_path.Interface);
            return null;
        }
        catch (PcapException e) when (IsPermission(e))
        {
            return $"no permission to capture on {_path.Interface}: needs CAP_NET_RAW and CAP_NET_ADMIN (run as root, or 'setcap cap_net_raw,cap_net_admin+ep' on the program)";
        }
        catch (PcapException e)
        {
            return $"cannot open {_path.Interface}: {e.Message}";
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            return "libpcap is not installed: install it with 'apt-get install libpcap0.8'";
        }
    }

    private static string? IfIndex(string iface)
    {
        try
        {
            return File.ReadAllText($"/sys/class/net/{iface}/ifindex").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsPermission(PcapException e) =>
        e.Message.Contains("permission", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("not permitted", StringComparison.OrdinalIgnoreCase);

    private static string Format(PhysicalAddress mac) => string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));

    /// <inheritdoc/>
    public void Dispose() => Reset();
}
