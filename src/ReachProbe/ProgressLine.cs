using System.Globalization;
using ReachProbe.Analysis;

namespace ReachProbe.Cli;

/// <summary>One self-overwriting progress line on a terminal's stderr: packets, MB/s, percent.</summary>
internal sealed class ProgressLine(TextWriter stderr) : IProgress<AnalysisProgress>, IDisposable
{
    private bool _shown;

    public void Report(AnalysisProgress p)
    {
        var secs = Math.Max(p.Elapsed.TotalSeconds, 1e-3);
        var pct = p.FileSize > 0 ? Math.Min(100.0, 100.0 * p.Bytes / p.FileSize) : 0;
        stderr.Write(string.Create(CultureInfo.InvariantCulture,
            $"\r{p.Packets,14:N0} packets  {p.Bytes / 1e6 / secs,8:0.0} MB/s  {pct,5:0.0} %  "));
        _shown = true;
    }

    public void Dispose()
    {
        if (!_shown) return;
        stderr.Write("\r" + new string(' ', 60) + "\r");
        _shown = false;
    }
}
