using System.Net;
using ReachProbe.Probes;

namespace ReachProbe.Tests.Probes;

/// <summary>The shared ICMP socket on loopback: each attempt gets its own reply.</summary>
public class IcmpEngineTests
{
    [Fact]
    public async Task EchoAsync_Loopback_OneAtATime_FromTheFirst()
    {
        // The first attempt of the process: the receive loop must be ready before anything was sent.
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 3; i++)
            Assert.Equal(IcmpMatch.Reply, (await IcmpEngine.Shared.EchoAsync(IPAddress.Loopback, (ushort)(2000 + i), cancel.Token)).Kind);
    }

    [Fact]
    public async Task EchoAsync_Loopback_EachAttemptItsReply()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => IcmpEngine.Shared.EchoAsync(IPAddress.Loopback, (ushort)(1000 + i), cancel.Token)));
        Assert.All(answers, a => Assert.Equal(IcmpMatch.Reply, a.Kind));
    }
}
