using System.Diagnostics;

namespace ReachProbe.Tests.Config;

/// <summary>Paths into the repository, and promtool.</summary>
internal static class RepoFiles
{
    public static string Root
    {
        get
        {
            var dir = AppContext.BaseDirectory;
            while (!File.Exists(System.IO.Path.Combine(dir, "ReachProbe.sln"))) dir = System.IO.Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("ReachProbe.sln not found above the test binaries");
            return dir;
        }
    }

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    public static string Promtool =>
        new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("promtool is not installed: apt-get install prometheus (.ci/deps does it)");

    public static (int Code, string Output) Run(string file, string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, o.Result + e.Result);
    }
}
