
namespace ReachProbe.Tests.Wire;

public class BoundedTableTests
{
    [Fact]
    public void Set_BeyondCapacity_EvictsOldestAndCounts()
    {
        var t = new BoundedTable<int, string>(3);
        for (var i = 0; i < 10; i++) t.Set(i, $"v{i}", i);
        Assert.Equal(3, t.Count);
        Assert.Equal(7, t.Evicted);
        Assert.False(t.TryGet(6, out _, out _));
        Assert.True(t.TryGet(9, out var v, out var stamp));
        Assert.Equal("v9", v);
        Assert.Equal(9, stamp);
    }

    [Fact]
    public void Expire_RemovesOnlyOlderThanCutoff_InOrder()
    {
        var t = new BoundedTable<int, int>(10);
        t.Set(1, 0, 100);
        t.Set(2, 0, 200);
        t.Set(3, 0, 300);
        var expired = new List<int>();
        t.Expire(250, (k, _, _) => expired.Add(k));
        Assert.Equal([1, 2], expired);
        Assert.Equal(1, t.Count);
    }

    [Fact]
    public void Set_Restamp_ExpiresByNewStamp()
    {
        var t = new BoundedTable<int, bool>(10);
        t.Set(1, false, 100);
        t.Set(1, true, 500);
        var expired = 0;
        t.Expire(400, (_, _, _) => expired++);
        Assert.Equal(0, expired);
        Assert.True(t.TryGet(1, out var answered, out _));
        Assert.True(answered);
    }

    [Fact]
    public void Flood_OfRemovedEntries_KeepsQueueBounded()
    {
        var t = new BoundedTable<int, int>(8);
        for (var i = 0; i < 100_000; i++)
        {
            t.Set(i, i, 0);
            t.Remove(i);
        }
        Assert.Equal(0, t.Count);
        Assert.InRange(t.QueueLength, 0, 4 * 16 + 1);
        // Compaction keeps the stale queue small: a later expiry walks only what is live.
        t.Set(-1, 0, 0);
        var n = 0;
        t.Expire(1, (_, _, _) => n++);
        Assert.Equal(1, n);
    }
}
