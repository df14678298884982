using System.Reflection;
using System.Runtime.InteropServices;

namespace ReachProbe.Agent;

/// <summary>What this build is: its version, the commit it was built from, and the runtime it runs on.</summary>
public static class BuildInfo
{
    private static readonly string Informational =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";

    /// <summary>The release, e.g. "0.7.0".</summary>
    public static string Version { get; } = Informational.Split('+')[0];

    /// <summary>The commit, e.g. "1a2b3c4d5e6f", or "unknown" (built outside git).</summary>
    public static string Commit { get; } = Informational.Split('+') is [_, var c, ..] && c.Length > 0 ? c[..Math.Min(12, c.Length)] : "unknown";

    /// <summary>The runtime and platform, e.g. ".NET 10.0.12 linux-arm64".</summary>
    public static string Runtime { get; } = $"{RuntimeInformation.FrameworkDescription} {RuntimeInformation.RuntimeIdentifier}";

    /// <summary>What <c>reachprobe --version</c> prints: "reachprobe 0.7.0 (commit 1a2b3c4d5e6f; .NET 10.0.12 linux-arm64)".</summary>
    public static string Line => $"reachprobe {Version} (commit {Commit}; {Runtime})";
}
