using System.Net;
using ReachProbe.Agent;

namespace ReachProbe.Tests.Agent;

/// <summary>How a target's host name is followed: which address it is watched at, and when the name is asked again.</summary>
public class HostResolverTests
{
    private static readonly IPAddress A = IPAddress.Parse("198.18.0.27"), B = IPAddress.Parse("198.18.0.28");

    [Fact]
    public void Pick_KeepsTheAddressItIsAt_WhileTheNameStillResolvesToIt()
    {
        Assert.Equal(A, HostResolver.Pick([A, B], null));
        Assert.Equal(B, HostResolver.Pick([A, B], B)); // round-robin records do not make it flit
        Assert.Equal(A, HostResolver.Pick([A], B));
    }

    [Theory]
    [InlineData(0, null, 1, 1)]        // dnsmasq's local TTL is 0: asked again every interval
    [InlineData(300, null, 5, 300)]    // on its TTL
    [InlineData(86400, null, 5, 3600)] // at least once an hour
    [InlineData(2, null, 10, 10)]      // not more often than it is probed
    [InlineData(0, "no answer", 1, 5)] // a failure is retried soon, not hammered
    [InlineData(0, "no answer", 30, 30)]
    public void Recheck_OnTheTtl_BetweenTheIntervalAndAnHour(int ttl, string? problem, double interval, double expected)
    {
        var lookup = new HostResolver.Lookup(problem is null ? [A] : [], TimeSpan.FromSeconds(ttl), problem);
        Assert.Equal(TimeSpan.FromSeconds(expected), HostResolver.Recheck(lookup, TimeSpan.FromSeconds(interval)));
    }
}
