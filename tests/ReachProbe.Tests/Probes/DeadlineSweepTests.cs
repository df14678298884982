using Microsoft.Extensions.Time.Testing;
using ReachProbe.Probes;

namespace ReachProbe.Tests.Probes;

/// <summary>The engines' one timer, on a fake clock: expiries at their deadlines, and few wake-ups.</summary>
public class DeadlineSweepTests
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UnixEpoch);

    [Fact]
    public void Add_ExpiresAtTheDeadline_NotBefore_InDeadlineOrder()
    {
        var sweep = DeadlineSweep.For(_clock);
        var expired = new List<string>();
        sweep.Add(_clock.GetTimestamp(), TimeSpan.FromSeconds(1), () => expired.Add("1 s"));
        sweep.Add(_clock.GetTimestamp(), TimeSpan.FromSeconds(0.5), () => expired.Add("0.5 s"));
        _clock.Advance(TimeSpan.FromSeconds(0.49));
        Assert.Empty(expired);
        _clock.Advance(TimeSpan.FromSeconds(0.02));
        Assert.Equal(["0.5 s"], expired);
        _clock.Advance(TimeSpan.FromSeconds(0.5));
        Assert.Equal(["0.5 s", "1 s"], expired);
        Assert.Equal(0, sweep.Pending);
    }

    [Fact]
    public void OneTargetEverySecond_OneWakeUpPerDeadline()
    {
        var sweep = DeadlineSweep.For(_clock);
        var expired = 0;
        for (var s = 0; s < 10; s++)
        {
            sweep.Add(_clock.GetTimestamp(), TimeSpan.FromSeconds(0.975), () => expired++);
            for (var ms = 0; ms < 1000; ms += 5) _clock.Advance(TimeSpan.FromMilliseconds(5));
        }
        Assert.Equal(10, expired);
        Assert.InRange(sweep.WakeUps, 10, 11); // not a hundred a second
    }

    [Fact]
    public void AThousandAttemptsASecond_AtMostAWakeUpAPeriod()
    {
        var sweep = DeadlineSweep.For(_clock);
        var expired = 0;
        for (var i = 0; i < 3000; i++)
        {
            sweep.Add(_clock.GetTimestamp(), TimeSpan.FromSeconds(1), () => expired++);
            _clock.Advance(TimeSpan.FromMilliseconds(1));
        }
        _clock.Advance(TimeSpan.FromSeconds(1.1));
        Assert.Equal(3000, expired);
        Assert.InRange(sweep.WakeUps, 100, 420); // deadlines from 1 s to 4 s, swept at most every 10 ms: not 3,000
    }
}
