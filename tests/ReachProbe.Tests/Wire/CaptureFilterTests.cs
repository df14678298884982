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
        Assert.Equal("arp or host 198.18.0.1 or host 198.18.0.2 or host 198.18.0.3 or host 198.18.5.27 or ether host 02:00:00:00:00:27 or ether host 02:00:00:00:00:28 or vlan", c.Text);
        Assert.InRange(c.Instructions, 1, CaptureFilter.KernelLimit);
    }

    [Fact]
    public void AThousandTargets_FallBackToTheirSubnets()
    {
        // 300 hosts compile to fewer than the kernel's limit, but past MaxTerms the list goes by subnet anyway.
        var c = CaptureFilter.For(Targets(1000));
        Assert.True(CaptureFilter.For(Targets(CaptureFilter.MaxTerms)).Kind == "hosts");
        Assert.Equal("subnets", c.Kind);
        Assert.Equal("arp or net 198.18.0.0/24 or net 198.18.1.0/24 or net 198.18.2.0/24 or net 198.18.3.0/24 or vlan", c.Text);
        Assert.InRange(c.Instructions, 1, CaptureFilter.KernelLimit);
    }

    [Fact]
    public void TargetsKnownByTheirMacAlone_StayInTheSubnetFilterByTheirMac()
    {
        // Their address moves: no subnet can be named for them, their MAC can.
        var c = CaptureFilter.For(Targets(1000).Append((null, "02:00:00:00:00:28")));
        Assert.Equal("subnets", c.Kind);
        Assert.EndsWith(" or net 198.18.3.0/24 or ether host 02:00:00:00:00:28 or vlan", c.Text);
    }

    [Fact]
    public void TargetsOnThousandsOfSubnets_FallBackToAllIp()
    {
        var scattered = Enumerable.Range(0, 3000).Select(i => ((IPAddress?)IPAddress.Parse($"10.{i / 250}.{i % 250}.1"), (string?)null));
        var c = CaptureFilter.For(scattered);
        Assert.Equal(("arp or ip or vlan", "all_ip"), (c.Text, c.Kind));
    }

    [Fact]
    public void WithVlan_LetsTaggedFramesThrough_AsTheUntagged()
    {
        var console = new LanHost("198.18.0.27", "02:00:00:00:00:27");
        var router = new LanHost("198.18.0.1", "02:00:00:00:00:01");
        var stranger = new LanHost("198.18.0.99", "02:00:00:00:00:99");
        static byte[] Tagged(byte[] frame, ushort vlan)
        {
            var tagged = new byte[frame.Length + 4];
            frame.AsSpan(0, 12).CopyTo(tagged);
            tagged[12] = 0x81;
            tagged[13] = 0x00;
            tagged[14] = (byte)(vlan >> 8);
            tagged[15] = (byte)vlan;
            frame.AsSpan(12).CopyTo(tagged.AsSpan(16));
            return tagged;
        }
        var plain = "arp or host 198.18.0.27";
        var trunk = CaptureFilter.WithVlan(plain);
        var toConsole = Frames.EchoRequest(router, console, 1, 1);
        var elsewhere = Frames.EchoRequest(router, stranger, 1, 1);
        var arp = Frames.ArpRequest(router, stranger.Ip);
        Assert.Equal(true, CaptureFilter.Matches(plain, toConsole));
        Assert.Equal(false, CaptureFilter.Matches(plain, Tagged(toConsole, 10))); // why the trunk needs its own clause
        Assert.Equal(false, CaptureFilter.Matches(plain, Tagged(arp, 10)));
        // Untagged, the targets' only; tagged, every frame (the pipeline's bitmap sorts them: the compile stays cheap).
        foreach (var (frame, expected) in new[] { (toConsole, true), (arp, true), (elsewhere, false), (Tagged(toConsole, 10), true), (Tagged(arp, 20), true), (Tagged(elsewhere, 10), true) })
            Assert.Equal(expected, CaptureFilter.Matches(trunk, frame));
    }

    [Fact]
    public void IPv6Targets_BringNeighbourDiscovery_AndTheirTrafficOnly()
    {
        var console = new LanHost("2001:db8::27", "02:00:00:00:00:27");
        var router = new LanHost("2001:db8::1", "02:00:00:00:00:01");
        var stranger = new LanHost("2001:db8::99", "02:00:00:00:00:99");
        var c = CaptureFilter.For([(IPAddress.Parse("2001:db8::27"), null), (IPAddress.Parse("fe80::27%1"), null), (IPAddress.Parse("198.18.0.27"), null)]);
        Assert.Equal("hosts", c.Kind);
        Assert.Equal($"arp or {CaptureFilter.Ndp} or {CaptureFilter.Ipv6Multicast} or host 2001:db8::27 or host fe80::27 or host 198.18.0.27 or vlan", c.Text); // no zone: libpcap takes none
        Assert.InRange(c.Instructions, 1, CaptureFilter.KernelLimit);
        foreach (var (frame, expected) in new[]
        {
            (Frames.EchoRequest(router, console, 1, 1), true),
            (Frames.ArpRequest(router, console.Ip), true),      // to the solicited-node group: in by the NDP clause
            (Frames.GratuitousArp(console), true),              // unsolicited NA
            (Frames.Udp(new LanHost("fe80::27", console.Mac), new LanHost("ff02::c", "33:33:00:00:00:0c"), 1900, 1900, new byte[8]), true), // its announcement
            (Frames.EchoRequest(router, stranger, 1, 1), false),
            (Frames.Udp(router, stranger, 1, 2, new byte[8]), false),
        })
            Assert.Equal(expected, CaptureFilter.Matches(c.Text, frame));
        // Past MaxTerms, IPv6 targets go by their /64.
        var many = Enumerable.Range(0, 300).Select(i => ((IPAddress?)IPAddress.Parse($"2001:db8:0:{i % 3}::{i + 1:x}"), (string?)null));
        var subnets = CaptureFilter.For(many);
        Assert.Equal(("subnets", $"arp or {CaptureFilter.Ndp} or {CaptureFilter.Ipv6Multicast} or net 2001:db8::/64 or net 2001:db8:0:1::/64 or net 2001:db8:0:2::/64 or vlan"), (subnets.Kind, subnets.Text));
    }
}
