namespace ReachProbe.Tests.Wire;

/// <summary>A host's rhythm of unsolicited frames: bursts merged, the longest recent gap, bounded by floor and maximum.</summary>
public class CadenceTests
{
    private static readonly TimeSpan Floor = TimeSpan.FromSeconds(10), Max = TimeSpan.FromSeconds(300);

    [Fact]
    public void NeverBroadcasts_NothingLearned_TheMaximumApplies()
    {
        var c = new Cadence();
        Assert.Null(c.UsualGap);
        Assert.Equal(Max, c.Overdue(3, Floor, Max));
    }

    [Fact]
    public void BroadcastsEveryTwoSeconds_IsOverdueAtTheFloor()
    {
        var c = new Cadence();
        for (var s = 0; s < 60; s += 2) c.Observe(At(s));
        Assert.Equal(TimeSpan.FromSeconds(2), c.UsualGap);
        Assert.Equal(Floor, c.Overdue(3, Floor, Max)); // 6 s is below the floor
    }

    [Fact]
    public void BurstyTraffic_IsJudgedByTheGapsBetweenBursts()
    {
        var c = new Cadence();
        // An mDNS announcement of 4 packets 100 ms apart every 20 s, and once a 45 s pause.
        double[] starts = [0, 20, 40, 85, 105, 125];
        foreach (var s in starts)
            for (var k = 0; k < 4; k++) c.Observe(At(s + k * 0.1));
        Assert.Equal(TimeSpan.FromSeconds(45), c.UsualGap);
        Assert.Equal(TimeSpan.FromSeconds(135), c.Overdue(3, Floor, Max));
    }

    [Fact]
    public void OnlyTheLastGapsCount_AndTheMaximumBounds()
    {
        var c = new Cadence();
        c.Observe(At(0));
        c.Observe(At(200)); // one long gap…
        for (var s = 205; s < 205 + 5 * Cadence.Remembered; s += 5) c.Observe(At(s));
        Assert.Equal(TimeSpan.FromSeconds(5), c.UsualGap); // …forgotten after eight short ones
        var slow = new Cadence();
        for (var s = 0; s < 1000; s += 200) slow.Observe(At(s));
        Assert.Equal(Max, slow.Overdue(3, Floor, Max));
    }

    [Fact]
    public void TwoGaps_AreNotYetACadence()
    {
        var c = new Cadence();
        c.Observe(At(0));
        c.Observe(At(2));
        c.Observe(At(4));
        Assert.Null(c.UsualGap);
        c.Observe(At(6));
        Assert.NotNull(c.UsualGap);
    }
}
