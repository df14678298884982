using System.Net;
using System.Net.Sockets;
using ReachProbe.Probes;

namespace ReachProbe.Tests.Probes;

/// <summary>TCP and DNS probes in flight are bounded: one that finds no slot is not sent and is no evidence (an error, not a timeout).</summary>
public class ProbeLimiterTests
{
    [Fact]
    public async Task TcpProbe_NoSlotFree_IsNotSent_AndIsAnError_ThenAnswersOnceASlotIsFree()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var limiter = new ProbeLimiter(1);
        using var probe = new TcpProbe(IPAddress.Loopback, port, limiter: limiter);

        Assert.True(limiter.TryEnter()); // another probe holds the only slot
        var refused = await probe.ProbeAsync(CancellationToken.None);
        Assert.Equal(ProbeStatus.Error, refused.Status);
        Assert.Equal("not sent: 1 TCP and DNS probes already in flight", refused.Reason);
        Assert.False(listener.Pending()); // nothing reached the target

        limiter.Release();
        var answered = await probe.ProbeAsync(CancellationToken.None);
        Assert.Equal(ProbeStatus.Answered, answered.Status);
        Assert.Equal(1, limiter.Free); // given back
    }

    [Fact]
    public async Task DnsProbe_NoSlotFree_IsNotSent()
    {
        var limiter = new ProbeLimiter(1);
        using var probe = new DnsProbe("dns", IPAddress.Loopback, "console.lan", limiter: limiter);
        Assert.True(limiter.TryEnter());
        var result = await probe.ProbeAsync(CancellationToken.None);
        Assert.Equal((ProbeStatus.Error, "not sent: 1 TCP and DNS probes already in flight"), (result.Status, result.Reason));
        Assert.Equal(TimeSpan.Zero, result.Duration);
        limiter.Release();
        Assert.Equal(1, limiter.Free);
    }
}
