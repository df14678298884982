using Microsoft.Extensions.Time.Testing;
using ReachProbe.Agent;

namespace ReachProbe.Tests.Agent;

/// <summary>The bridge's ports from a sysfs tree written by the test: the learned port sticks, a cloned MAC is a conflict.</summary>
public sealed class BridgePortsTests : IDisposable
{
    private readonly DirectoryInfo _sys = Directory.CreateTempSubdirectory("reachprobe-sysfs-");
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UnixEpoch);
    private const ulong Console = 0x02_00_00_00_00_27;

    public BridgePortsTests()
    {
        Directory.CreateDirectory(Path.Combine(_sys.FullName, "br0", "bridge"));
        Port("pc0", 1, carrier: true);
        Port("att0", 2, carrier: true);
    }

    public void Dispose() => _sys.Delete(true);

    private void Port(string name, int number, bool carrier)
    {
        var brif = Path.Combine(_sys.FullName, "br0", "brif", name);
        Directory.CreateDirectory(brif);
        File.WriteAllText(Path.Combine(brif, "port_no"), $"0x{number:x}\n");
        Directory.CreateDirectory(Path.Combine(_sys.FullName, name));
        Carrier(name, carrier);
    }

    private void Carrier(string port, bool up) => File.WriteAllText(Path.Combine(_sys.FullName, port, "carrier"), up ? "1\n" : "0\n");

    /// <summary>Writes the forwarding database: the console's MAC behind port <paramref name="portNo"/>.</summary>
    private void Fdb(int portNo)
    {
        var entry = new byte[16];
        for (var k = 0; k < 6; k++) entry[k] = (byte)(Console >> (40 - 8 * k));
        entry[6] = (byte)portNo;
        File.WriteAllBytes(Path.Combine(_sys.FullName, "br0", "brforward"), entry);
    }

    /// <summary>The agent's tick: the links read again, then the console's carrier asked.</summary>
    private static bool? Tick(BridgePorts ports)
    {
        ports.Refresh();
        return ports.CarrierOf(Console);
    }

    [Fact]
    public void ClonedMac_OnAnotherPort_DoesNotMoveTheTargetsLink()
    {
        var ports = new BridgePorts("br0", _sys.FullName, TimeSpan.FromMinutes(5), _clock);
        Fdb(1);
        Assert.True(Tick(ports));
        Assert.Equal("pc0", ports.LearnedPort(Console));

        // The console's link drops; an attacker sends with its MAC from att0 and the bridge moves the MAC there.
        Carrier("pc0", false);
        Fdb(2);
        Assert.False(Tick(ports)); // still the console's own port: down, not "up" through the clone
        Assert.Equal("att0", ports.ClonedOn(Console));
        _clock.Advance(TimeSpan.FromMinutes(4));
        Assert.False(Tick(ports));
    }

    [Fact]
    public void TargetPluggedIntoAnotherPort_IsTakenAfterTheOldPortStayedDown()
    {
        var ports = new BridgePorts("br0", _sys.FullName, TimeSpan.FromMinutes(5), _clock);
        Fdb(1);
        Assert.True(Tick(ports));
        Carrier("pc0", false);
        Fdb(2);
        Assert.False(Tick(ports));
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.True(Tick(ports));
        Assert.Equal("att0", ports.LearnedPort(Console));
        Assert.Null(ports.ClonedOn(Console));
    }

    [Fact]
    public void Refresh_ReadsTheDatabaseAndEachCarrierOnce_HoweverManyTargetsAsk()
    {
        var ports = new BridgePorts("br0", _sys.FullName, TimeSpan.FromMinutes(5), _clock);
        Fdb(1);
        ports.Refresh();
        var before = ports.Reads;
        for (var i = 0; i < 1000; i++) ports.CarrierOf(Console);
        Assert.Equal(1, ports.Reads - before); // pc0's carrier, once
        ports.Refresh();
        Assert.Equal(1 + 3, ports.Reads - before); // brforward and two ports' numbers
        Assert.True(ports.CarrierOf(Console));
        // What changed is seen at the next refresh, not before.
        Carrier("pc0", false);
        Assert.True(ports.CarrierOf(Console));
        Assert.False(Tick(ports));
    }
}
