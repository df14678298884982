using System.Net;

namespace ReachProbe.Tests.Wire;

/// <summary>The capture filter is compiled before use: above the kernel's 4,096 instructions it falls back.</summary>
public class CaptureFilterTests
{
    private static IEnumerable<(IPAddress?, string?)> Targets(int n) =>
        Enumerable.Range(0, n).Select(i => ((IPAddress?)IPAddress.Parse($"198.18.{i / 250}.{1 + i % 250}"), (string?)null));

    [Fact]
    public void FewTargets_AreFilteredByHost()
    {
        var c = CaptureFilter.For(Targets(3).Append((IPAddress.Parse("198.18.5.27"), "02:00:00:00:00:27")).Append((null, "02:00:00:00:00:28")));
        Assert.Equal("hosts", c.Kind);
        Assert.Equal("arp or host 198.18.0.1 or host 198.18.0.2 or host 198.18.0.3 or host 198.18.5.27 or ether host 02:00:00:00:00:27 or ether host 02:00:00:00:00:28", c.Text);
        Assert.InRange(c.Instructions, 1, CaptureFilter.KernelLimit);
    }

    [Fact]
    public void AThousandTargets_FallBackToTheirSubnets()
    {
        // 300 hosts compile to fewer than the kernel's limit, but past MaxTerms the list goes by subnet anyway.
        var c = CaptureFilter.For(Targets(1000));
        Assert.True(CaptureFilter.For(Targets(CaptureFilter.MaxTerms)).Kind == "hosts");
        Assert.Equal("subnets", c.Kind);
        Assert.Equal("arp or net 198.18.0.0/24 or net 198.18.1.0/24 or net 198.18.2.0/24 or net 198.18.3.0/24", c.Text);
        Assert.InRange(c.Instructions, 1, CaptureFilter.KernelLimit);
    }

    [Fact]
    public void TargetsKnownByTheirMacAlone_StayInTheSubnetFilterByTheirMac()
    {
        // Their address moves: no subnet can be named for them, their MAC can.
        var c = CaptureFilter.For(Targets(1000).Append((null, "02:00:00:00:00:28")));
        Assert.Equal("subnets", c.Kind);
        Assert.EndsWith(" or net 198.18.3.0/24 or ether host 02:00:00:00:00:28", c.Text);
    }

    [Fact]
    public void TargetsOnThousandsOfSubnets_FallBackToAllIp()
    {
        var scattered = Enumerable.Range(0, 3000).Select(i => ((IPAddress?)IPAddress.Parse($"10.{i / 250}.{i % 250}.1"), (string?)null));
        var c = CaptureFilter.For(scattered);
        Assert.Equal(("arp or ip", "all_ip"), (c.Text, c.Kind));
    }
}
