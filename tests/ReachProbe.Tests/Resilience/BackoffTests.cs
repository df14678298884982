using ReachProbe.Resilience;

namespace ReachProbe.Tests.Resilience;

public class BackoffTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 20, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Failed_DoublesTheDelayUpToTheCap_SucceededStartsAgain()
    {
        var b = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        Assert.True(b.Due(T0));
        var waits = new List<double>();
        var now = T0;
        for (var i = 0; i < 5; i++)
        {
            b.Failed(now);
            waits.Add((b.RetryAt - now).TotalSeconds);
            Assert.False(b.Due(b.RetryAt - TimeSpan.FromTicks(1)));
            Assert.True(b.Due(b.RetryAt));
            now = b.RetryAt;
        }
        Assert.Equal([1, 2, 4, 5, 5], waits);
        b.Succeeded();
        Assert.True(b.Due(now));
        b.Failed(now);
        Assert.Equal(TimeSpan.FromSeconds(1), b.RetryAt - now);
    }

    [Fact]
    public void Now_MakesATryDue_KeepingTheDelayReached()
    {
        var b = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        b.Failed(T0);
        b.Failed(T0);
        Assert.False(b.Due(T0));
        b.Now();
        Assert.True(b.Due(T0));
        b.Failed(T0);
        Assert.Equal(TimeSpan.FromSeconds(4), b.RetryAt - T0);
    }
}
