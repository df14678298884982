using ReachProbe.Wire;

namespace ReachProbe.Tests.Wire;

/// <summary>The kernel's files as the test writes them: routes, carrier, MAC, ifindex.</summary>
public sealed class SysNetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reachprobe-sysnet-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void DefaultRoutes_ReadsEachDefaultRoute_GatewayInHostOrder()
    {
        var routes = Path.Combine(_dir, "route");
        File.WriteAllText(routes, """
            Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
            wg0	00000000	00000000	0001	0	0	50	00000000	0	0	0
            eth0	00000000	011212C6	0003	0	0	100	00000000	0	0	0
            eth0	001212C6	00000000	0001	0	0	100	00FFFFFF	0	0	0

            """);
        Assert.Equal([("wg0", null), ("eth0", System.Net.IPAddress.Parse("198.18.18.1"))], SysNet.DefaultRoutes(routes));
        Assert.Empty(SysNet.DefaultRoutes(Path.Combine(_dir, "none")));
    }

    [Fact]
    public void Carrier_Mac_IfIndex_FromSysfs_GoneIsFalseOrNull()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "eth0"));
        File.WriteAllText(Path.Combine(_dir, "eth0", "carrier"), "1\n");
        File.WriteAllText(Path.Combine(_dir, "eth0", "address"), "02:00:00:00:00:12\n");
        File.WriteAllText(Path.Combine(_dir, "eth0", "ifindex"), "7\n");
        Assert.True(SysNet.Carrier("eth0", _dir));
        Assert.Equal(0x02_00_00_00_00_12UL, SysNet.Mac("eth0", _dir));
        Assert.Equal("7", SysNet.IfIndex("eth0", _dir));
        Assert.False(SysNet.Carrier("gone0", _dir));
        Assert.Null(SysNet.Mac("gone0", _dir));
        Assert.Null(SysNet.IfIndex("gone0", _dir));
    }

    [Theory]
    [InlineData("000001ffffffffff", new string[0])] // root
    [InlineData("0000000000003000", new string[0])] // exactly CAP_NET_ADMIN (12) and CAP_NET_RAW (13)
    [InlineData("0000000000002000", new[] { "CAP_NET_ADMIN" })]
    [InlineData("0000000000000000", new[] { "CAP_NET_RAW", "CAP_NET_ADMIN" })]
    public void MissingCaptureCapabilities_FromCapEff(string capEff, string[] missing)
    {
        var status = Path.Combine(_dir, "status");
        File.WriteAllText(status, $"Name:\treachprobe\nCapInh:\t0000000000000000\nCapEff:\t{capEff}\n");
        Assert.Equal(missing, SysNet.MissingCaptureCapabilities(status));
        Assert.Null(SysNet.MissingCaptureCapabilities(Path.Combine(_dir, "none")));
    }
}
