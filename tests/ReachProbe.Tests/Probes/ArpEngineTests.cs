using Microsoft.Extensions.Time.Testing;
using ReachProbe.Probes;

namespace ReachProbe.Tests.Probes;

public class ArpEngineTests
{
    [Fact]
    public void Send_DeviceThatCannotBeOpened_IsTriedAgainWithBackoff_NotAtEverySend()
    {
        // No such interface: every open fails. The scheduler calls Send for each ARP probe of a slot: a device that is
        // down must cost one try per backoff step, and each Send must answer at once with the problem.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 14, 20, 0, 0, TimeSpan.Zero));
        using var engine = new ArpEngine("rp-none0", clock);
        var frame = new byte[42];
        for (var i = 0; i < 100; i++) Assert.Equal("no capture device for interface rp-none0", engine.Send(frame));
        Assert.Equal(1, engine.OpenAttempts);
        clock.Advance(TimeSpan.FromMilliseconds(499));
        engine.Send(frame);
        Assert.Equal(1, engine.OpenAttempts);
        clock.Advance(TimeSpan.FromMilliseconds(1)); // 0.5 s after the first failure
        engine.Send(frame);
        Assert.Equal(2, engine.OpenAttempts);
        clock.Advance(TimeSpan.FromMilliseconds(999)); // then 1 s
        engine.Send(frame);
        Assert.Equal(2, engine.OpenAttempts);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        engine.Send(frame);
        Assert.Equal(3, engine.OpenAttempts);
    }
}
