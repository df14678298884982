using ReachProbe.Agent;

namespace ReachProbe.Tests.Agent;

/// <summary>SIGHUP held from the start of <c>run</c> until the reload handler exists.</summary>
public sealed class HangupsTests
{
    [Fact]
    public void EarlySignals_AreKept_AndHandedOverOnceOnAttach()
    {
        using var hangups = new Hangups();
        hangups.Raise();
        hangups.Raise();
        Assert.True(hangups.Pending);
        var reloads = 0;
        hangups.Attach(() => reloads++);
        Assert.Equal(1, reloads); // coalesced: one reload reads the file as it is now
        Assert.False(hangups.Pending);
        hangups.Raise();
        Assert.Equal(2, reloads);
    }

    [Fact]
    public void AfterDetach_SignalsAreHeldAgain()
    {
        using var hangups = new Hangups();
        var reloads = 0;
        hangups.Attach(() => reloads++);
        Assert.Equal(0, reloads);
        hangups.Detach();
        hangups.Raise();
        Assert.Equal(0, reloads);
        Assert.True(hangups.Pending);
    }
}
