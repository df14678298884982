using ReachProbe.Agent;

namespace ReachProbe.Tests.Agent;

public class NeighbourTableTests
{
    [Theory]
    [InlineData(1, 1024)]
    [InlineData(800, 1024)]
    [InlineData(5000, null)] // unknown limit: nothing to say
    public void Warning_RoomInTheTable_OrLimitUnknown_IsNone(int targets, int? limit) => Assert.Null(NeighbourTable.Warning(targets, limit));

    [Fact]
    public void Warning_NearTheLimit_NamesTheSettingAndAValue()
    {
        var w = NeighbourTable.Warning(1000, 1024);
        Assert.Equal("1,000 targets, but the kernel's neighbour table holds 1,024 entries for every namespace (net.ipv4.neigh.default.gc_thresh3): "
            + "beyond it probes fail for want of an ARP entry, not because a target is down. Raise it, e.g. "
            + "sysctl -w net.ipv4.neigh.default.gc_thresh3=2048 net.ipv4.neigh.default.gc_thresh2=1024", w);
        Assert.Contains("gc_thresh3=8192", NeighbourTable.Warning(4096, 1024));
    }

    [Fact]
    public void ReadLimit_ANumber_OrNoneWhenUnreadable()
    {
        var dir = Directory.CreateTempSubdirectory("reachprobe-neigh-");
        try
        {
            var file = Path.Combine(dir.FullName, "gc_thresh3");
            File.WriteAllText(file, "1024\n");
            Assert.Equal(1024, NeighbourTable.ReadLimit(file));
            File.WriteAllText(file, "many\n");
            Assert.Null(NeighbourTable.ReadLimit(file));
            Assert.Null(NeighbourTable.ReadLimit(Path.Combine(dir.FullName, "missing")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
