using System.Reflection;

namespace ReachProbe.Tests.Architecture;

/// <summary>The projects show the architecture: offline analysis (the engine) loads nothing of the agent.</summary>
public class LayeringTests
{
    private static string[] References(Type t) =>
        t.Assembly.GetReferencedAssemblies().Select(a => a.Name!).Where(n => !n.StartsWith("System", StringComparison.Ordinal) && n != "netstandard").Order().ToArray();

    [Fact]
    public void Engine_ReferencesOnlyThePacketLibraries()
    {
        Assert.Equal(["PacketDotNet", "SharpPcap"], References(typeof(ReachProbe.Wire.WirePipeline)));
    }

    [Fact]
    public void Probes_DoNotReferenceTheAgent()
    {
        var refs = References(typeof(ReachProbe.Probes.IcmpProbe));
        Assert.DoesNotContain(refs, r => r.Contains("Quartz") || r.Contains("Prometheus") || r.Contains("Hosting") || r.Contains("Sqlite") || r == "ReachProbe.Agent");
    }

    [Fact]
    public void History_DoesNotReferenceTheAgent()
    {
        var refs = References(typeof(ReachProbe.History.HistoryStore));
        Assert.DoesNotContain(refs, r => r.Contains("Quartz") || r.Contains("Prometheus") || r.Contains("Hosting") || r == "ReachProbe.Agent");
    }

    [Fact]
    public void AgentLogMessages_AreAllInLogCs()
    {
        var dir = ReachProbe.Tests.Config.RepoFiles.Path("src", "ReachProbe.Agent");
        var elsewhere = Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && Path.GetFileName(f) != "Log.cs" && File.ReadAllText(f).Contains("[LoggerMessage", StringComparison.Ordinal));
        Assert.Empty(elsewhere);
    }
}
