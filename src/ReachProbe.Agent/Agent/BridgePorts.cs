using System.Globalization;
using ReachProbe.Wire;

namespace ReachProbe.Agent;

/// <summary>
/// When the agent captures on a Linux bridge (the inline box of the field report), the bridge knows which port each
/// MAC is behind, and that port's carrier is the target's own link. Read from sysfs: <c>brforward</c> (the forwarding
/// database) and each port's <c>carrier</c>, once per <see cref="Refresh"/> (the agent's tick) for all targets — not
/// once per target: at a thousand targets that was a thousand reads and parses of the whole database four times a
/// second. The port a MAC is first seen behind is its port, and stays so: the bridge
/// forgets a MAC when its port goes down, and moves it to whatever port last sent a frame from it — a host cloning the
/// target's MAC. A move is taken only when the learned port has had no carrier for <paramref name="moveAfter"/> and the
/// new port has carrier (the target was plugged elsewhere); until then the MAC seen elsewhere is a conflict
/// (<see cref="ClonedOn"/>) and the learned port's carrier is the target's link.
/// </summary>
public sealed class BridgePorts(string bridge, string sysfs = "/sys/class/net", TimeSpan? moveAfter = null, TimeProvider? time = null) : ITargetLinks
{
    private readonly Dictionary<ulong, string> _portOfMac = [];
    private readonly Dictionary<ulong, string> _elsewhere = [];
    private readonly Dictionary<string, DateTimeOffset> _downSince = [];
    // Each port's carrier as read at this refresh (read on first use, at most once a refresh).
    private readonly Dictionary<string, bool?> _carrier = [];
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly TimeSpan _moveAfter = moveAfter ?? TimeSpan.FromMinutes(5);
    private DateTimeOffset _now;

    /// <summary>True when the interface is a bridge.</summary>
    public bool IsBridge => Directory.Exists(Path.Combine(sysfs, bridge, "bridge"));

    /// <summary>Sysfs files read so far (the per-tick cost the scale benchmark measures).</summary>
    public long Reads { get; private set; }

    /// <summary>The port the MAC was seen behind at the last <see cref="Refresh"/>.</summary>
    public string? PortOf(ulong mac) => _portOfMac.GetValueOrDefault(mac);

    /// <inheritdoc/>
    public bool? CarrierOf(ulong mac)
    {
        if (PortOf(mac) is not { } port) return null;
        var carrier = CarrierNow(port);
        if (carrier == false) _downSince.TryAdd(port, _now);
        else _downSince.Remove(port);
        if (_elsewhere.TryGetValue(mac, out var other) && carrier == false && _now - _downSince[port] >= _moveAfter && CarrierNow(other) == true)
        {
            _portOfMac[mac] = other;
            _elsewhere.Remove(mac);
            return true;
        }
        return carrier;
    }

    /// <inheritdoc/>
    public string? ClonedOn(ulong mac) => _elsewhere.GetValueOrDefault(mac);

    /// <summary>The port a MAC was learned behind.</summary>
    public string? LearnedPort(ulong mac) => _portOfMac.GetValueOrDefault(mac);

    private bool? CarrierNow(string port)
    {
        if (!_carrier.TryGetValue(port, out var c)) _carrier[port] = c = Carrier(port);
        return c;
    }

    /// <summary>Carrier of a port: true, false (down, or gone), or null when it cannot be read.</summary>
    public bool? Carrier(string port)
    {
        Reads++;
        return SysNet.Carrier(port, sysfs);
    }

    /// <inheritdoc/>
    /// <remarks>Reads the forwarding database and the bridge's ports once; carriers are read again at their first use after it.</remarks>
    public void Refresh()
    {
        _now = _time.GetUtcNow();
        _carrier.Clear();
        byte[] fdb;
        Dictionary<int, string> ports;
        try
        {
            Reads++;
            fdb = File.ReadAllBytes(Path.Combine(sysfs, bridge, "brforward"));
            ports = [];
            foreach (var dir in Directory.EnumerateDirectories(Path.Combine(sysfs, bridge, "brif")))
            {
                Reads++;
                var text = File.ReadAllText(Path.Combine(dir, "port_no")).Trim();
                if (text.StartsWith("0x", StringComparison.Ordinal) && int.TryParse(text[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var n))
                    ports[n] = Path.GetFileName(dir);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        // struct __fdb_entry: mac[6], port_no, is_local, ageing_timer_value (u32), port_hi, pad0, unused (u16).
        for (var i = 0; i + 16 <= fdb.Length; i += 16)
        {
            if (fdb[i + 7] != 0) continue; // the bridge's own addresses
            var mac = 0UL;
            for (var k = 0; k < 6; k++) mac = (mac << 8) | fdb[i + k];
            if (!ports.TryGetValue(fdb[i + 6] | (fdb[i + 12] << 8), out var port)) continue;
            if (!_portOfMac.TryGetValue(mac, out var learned)) _portOfMac[mac] = port;
            else if (learned != port) _elsewhere[mac] = port;
            else _elsewhere.Remove(mac);
        }
    }
}
