using System.Threading.Channels;
using SharpPcap;
using SharpPcap.LibPcap;

namespace ReachProbe.Wire;

/// <summary>A frame copied out of the capture callback, for the analysis loop.</summary>
/// <param name="Time">Kernel timestamp, UTC ticks.</param>
/// <param name="Data">The captured bytes.</param>
public readonly record struct LiveFrame(long Time, byte[] Data);

/// <summary>
/// Live capture on one interface with SharpPcap: promiscuous, immediate mode, a BPF filter so unrelated traffic never
/// reaches .NET, and a dedicated capture thread that copies each frame into a bounded channel. Invariant: the capture
/// thread never blocks on the analysis — a full channel drops the frame and counts it (<see cref="HandoffDropped"/>).
/// </summary>
public sealed partial class LiveCapture : ILiveSource
{
    private readonly Channel<LiveFrame> _frames;
    private LibPcapLiveDevice? _device;
    private Thread? _thread;
    private volatile bool _stop;
    private long _handoffDropped;

    /// <summary>Creates a capture; call <see cref="Open"/> to start it.</summary>
    public LiveCapture(string interfaceName, string filter, int queueCapacity = 65536)
    {
        Interface = interfaceName;
        Filter = filter;
        _frames = Channel.CreateBounded<LiveFrame>(new BoundedChannelOptions(queueCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.DropWrite,
        });
    }

    /// <summary>Interface name.</summary>
    public string Interface { get; }

    /// <inheritdoc/>
    public string Name => Interface;

    /// <inheritdoc/>
    public LinkKind Link => LinkKind.Ethernet;

    /// <inheritdoc/>
    public bool TryRead(out CapturedFrame frame)
    {
        if (_frames.Reader.TryRead(out var f))
        {
            frame = new CapturedFrame(f.Time, f.Data, f.Data.Length);
            return true;
        }
        frame = default;
        return false;
    }

    /// <inheritdoc/>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellation) => _frames.Reader.WaitToReadAsync(cancellation);

    /// <summary>BPF filter.</summary>
    public string Filter { get; }

    /// <summary>Frames dropped because the analysis loop fell behind.</summary>
    public long HandoffDropped => Interlocked.Read(ref _handoffDropped);

    /// <summary>True while the capture thread runs without error.</summary>
    public bool Running => _thread is { IsAlive: true } && Error is null;

    /// <summary>Why the capture stopped, if it did.</summary>
    public string? Error { get; private set; }

    /// <summary>libpcap's counters: received, dropped (buffer), dropped by the interface.</summary>
    public (long Received, long Dropped, long InterfaceDropped)? Statistics
    {
        get
        {
            try
            {
                var s = _device?.Statistics;
                return s is null ? null : (s.ReceivedPackets, s.DroppedPackets, s.InterfaceDroppedPackets);
            }
            catch (PcapException)
            {
                return null;
            }
        }
    }

    /// <summary>Opens the device and starts the capture thread. Throws <see cref="CaptureException"/> with a clear reason.</summary>
    public void Open()
    {
        LibPcapLiveDevice? found;
        try
        {
            found = LibPcapLiveDeviceList.New().FirstOrDefault(d => d.Name == Interface);
        }
        catch (PcapException e)
        {
            // libpcap could not list the interfaces (under qemu-user: "SIOCETHTOOL(ETHTOOL_GLINK) ioctl failed: Function
            // not implemented"): the capture fails, and is retried, like any other; it must not stop the agent.
            throw new CaptureException(SysNet.IsPermissionProblem(e.Message) ? SysNet.NoCapturePermission(Interface) : $"cannot list capture devices: {e.Message}", e);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            // Installed from source on a machine without libpcap: no capture (retried, reported), but the probes go on.
            throw new CaptureException(CaptureException.NoLibpcap, e);
        }
        var device = found ?? throw new CaptureException($"no capture device {Interface} (interface missing or down)");
        try
        {
            device.Open(new DeviceConfiguration
            {
                Mode = DeviceModes.Promiscuous,
                ReadTimeout = 100,
                Immediate = true,
                Snaplen = 262144,
                TimestampResolution = TimestampResolution.Nanosecond,
            });
            device.Filter = Filter;
        }
        catch (PcapException e)
        {
            device.Close();
            throw new CaptureException(SysNet.IsPermissionProblem(e.Message) ? SysNet.NoCapturePermission(Interface) : $"cannot capture on {Interface}: {e.Message}", e);
        }
        _device = device;
        Error = null;
        _stop = false;
        _thread = new Thread(Loop) { IsBackground = true, Name = $"capture {Interface}" };
        _thread.Start();
    }

    private void Loop()
    {
        var device = _device!;
        while (!_stop)
        {
            int res;
            long ticks;
            byte[] copy;
            try
            {
                res = PcapRecord.Next(device, out ticks, out var data, out _);
                copy = res == 1 ? data.ToArray() : [];
            }
            catch (Exception e) when (e is PcapException or ObjectDisposedException or InvalidOperationException)
            {
                Error = e.Message;
                return;
            }
            if (res == 0) continue; // read timeout: look at _stop again
            if (res < 0)
            {
                Error = res == -1 ? device.LastError : "capture ended";
                return;
            }
            if (!_frames.Writer.TryWrite(new LiveFrame(ticks, copy))) Interlocked.Increment(ref _handoffDropped);
        }
    }

    /// <summary>Stops the capture thread and closes the device.</summary>
    public void Close()
    {
        _stop = true;
        // Wake a read blocked in poll(): libpcap's breakloop makes the capture thread's read return at once.
        if (_device is { Opened: true } device && _thread is { IsAlive: true })
        {
            try
            {
                pcap_breakloop(device.Handle);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException or ObjectDisposedException)
            {
            }
        }
        _thread?.Join(TimeSpan.FromSeconds(2));
        try
        {
            _device?.Close();
        }
        catch (PcapException)
        {
        }
        _device = null;
    }

    /// <inheritdoc/>
    public void Dispose() => Close();

    [System.Runtime.InteropServices.LibraryImport(PcapRecord.Library, EntryPoint = "pcap_breakloop")]
    private static partial void pcap_breakloop(System.Runtime.InteropServices.SafeHandle handle);
}
