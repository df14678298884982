using System.Diagnostics;
using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Analysis;

/// <summary>Options of an offline analysis.</summary>
public sealed class AnalysisOptions
{
    /// <summary>Thresholds.</summary>
    public VerdictOptions Verdict { get; init; } = new();

    /// <summary>Targets (IP → MAC or 0); null to discover them: every host on the captured segment that others tried to reach or that showed deafness.</summary>
    public IReadOnlyDictionary<UInt128, ulong>? Targets { get; init; }

    /// <summary>The capture's view when known (<c>--view</c>); null to detect it (see <see cref="SegmentView"/>).</summary>
    public CaptureView? View { get; init; }

    /// <summary>Observers of the loop, as the live agent has its own (the history import is one).</summary>
    public IReadOnlyList<IAnalysisObserver> Observers { get; init; } = [];
}

/// <summary>Progress of a long analysis.</summary>
/// <param name="Packets">Packets read.</param>
/// <param name="Bytes">Approximate bytes of the file consumed.</param>
/// <param name="FileSize">File size.</param>
/// <param name="Elapsed">Wall time so far.</param>
public readonly record struct AnalysisProgress(long Packets, long Bytes, long FileSize, TimeSpan Elapsed);

/// <summary>One analysed target as the analysis left it: data copied out of the engine, which nothing changes afterwards.</summary>
/// <param name="Ip">IPv4 address, host order.</param>
/// <param name="Mac">MAC, 0 if never learned.</param>
/// <param name="FinalState">Its state at the end of the capture.</param>
/// <param name="LastFrame">Time of its last frame (UTC ticks), or null.</param>
/// <param name="Incidents">Its incidents, in order.</param>
/// <param name="Changes">Its state changes, in order.</param>
/// <param name="Notes">Notes for the timeline (gratuitous ARP, conflicts, view changes …).</param>
/// <param name="Totals">Every piece of evidence over the whole capture.</param>
public sealed record TargetReport(UInt128 Ip, ulong Mac, TargetState FinalState, long? LastFrame, IReadOnlyList<IncidentReport> Incidents,
    IReadOnlyList<StateChange> Changes, IReadOnlyList<Evidence> Notes, EvidenceCounts Totals)
{
    /// <summary>The host's report, copied from its engine.</summary>
    public static TargetReport Of(HostMonitor h)
    {
        var v = h.Verdict;
        return new TargetReport(h.Identity.Ip, h.Identity.Mac, v.State, v.LastFrame,
            v.Incidents.Select(i => new IncidentReport(i.State, i.Start, i.End, i.EndReason, i.RecoveredBy, i.Evidence.Copy())).ToArray(),
            v.Changes.ToArray(), v.Notes.ToArray(), v.Totals.Copy());
    }
}

/// <summary>One incident as reported.</summary>
/// <param name="State">Deaf, down or unresponsive.</param>
/// <param name="Start">Start (UTC ticks).</param>
/// <param name="End">End (UTC ticks), or null when it was still open at the end of the capture.</param>
/// <param name="EndReason">Why it ended.</param>
/// <param name="RecoveredBy">The proof of receipt that ended it, when it recovered.</param>
/// <param name="Evidence">The evidence seen from its start to its end.</param>
public sealed record IncidentReport(TargetState State, long Start, long? End, IncidentEnd EndReason, EvidenceKind? RecoveredBy, EvidenceCounts Evidence);

/// <summary>What an analysis found.</summary>
public sealed class AnalysisResult
{
    /// <summary>The capture's path.</summary>
    public required string File { get; init; }
    /// <summary>Link type.</summary>
    public required LinkKind Link { get; init; }
    /// <summary>Frame counts.</summary>
    public required WireCounters Counters { get; init; }
    /// <summary>First packet time (UTC ticks), null for a capture with no packets.</summary>
    public long? FirstTime { get; init; }
    /// <summary>Last packet time (UTC ticks).</summary>
    public long? LastTime { get; init; }
    /// <summary>Targets reported, by IP.</summary>
    public required IReadOnlyList<TargetReport> Targets { get; init; }
    /// <summary>Set when the file broke off part-way: the results cover the packets before it.</summary>
    public string? Error { get; init; }
    /// <summary>Hosts not tracked because the discovery bound was reached.</summary>
    public long HostsNotTracked { get; init; }
    /// <summary>The capture's view at its end, and how it was known.</summary>
    public required SegmentView View { get; init; }
    /// <summary>Capture duration in seconds.</summary>
    public double DurationSeconds => FirstTime is { } f && LastTime is { } l ? (l - f) / (double)TimeSpan.TicksPerSecond : 0;
}

/// <summary>Runs a capture through the <see cref="WirePipeline"/> with packet time as the clock.</summary>
public static class CaptureAnalyzer
{
    /// <summary>
    /// Without explicit targets, a host is reported when it is on the captured segment (its MAC is its own) and others
    /// tried to reach it (echo or ARP who-has), or it showed a sign of deafness itself (a query, SYN or ARP repeated
    /// after its answer: phase 3 of the lab, where nobody else is trying any more).
    /// </summary>
    private static bool IsDiscoveredTarget(HostMonitor h, WirePipeline pipeline) =>
        h.Identity.Mac != 0 && pipeline.IsOnSegment(h) && (h.TriedByOthers || h.Verdict.Incidents.Count > 0);

    /// <summary>Analyses a capture file. Throws <see cref="CaptureException"/> when it cannot be opened at all.</summary>
    public static AnalysisResult AnalyzeFile(string path, AnalysisOptions options, IProgress<AnalysisProgress>? progress = null, CancellationToken cancellation = default)
    {
        using var source = CaptureFileSource.Open(path);
        return Analyze(source, options, progress, cancellation);
    }

    /// <summary>Analyses any source to its end. A source that breaks part-way yields the results so far and <see cref="AnalysisResult.Error"/>.</summary>
    public static AnalysisResult Analyze(ICaptureSource source, AnalysisOptions options, IProgress<AnalysisProgress>? progress = null, CancellationToken cancellation = default)
    {
        var clock = new PacketClock();
        var pipeline = new WirePipeline(options.Verdict, clock, options.Targets)
        {
            // A file is read as full until it shows otherwise: that is where the field report's captures came from.
            View = new SegmentView(forced: options.View, initial: CaptureView.Full),
        };
        var loop = new AnalysisLoop(pipeline, clock) { Source = source };
        foreach (var o in options.Observers) loop.AddObserver(o);
        var file = source as CaptureFileSource;
        var link = source.Link;
        var watch = Stopwatch.StartNew();
        var nextReport = TimeSpan.FromMilliseconds(200);
        var run = loop.RunToEnd(clock, () =>
        {
            cancellation.ThrowIfCancellationRequested();
            if (progress is null || watch.Elapsed < nextReport) return;
            nextReport = watch.Elapsed + TimeSpan.FromMilliseconds(200);
            progress.Report(new AnalysisProgress(pipeline.Counters.Frames, file?.BytesRead ?? 0, file?.FileSize ?? 0, watch.Elapsed));
        });
        progress?.Report(new AnalysisProgress(pipeline.Counters.Frames, file?.FileSize ?? 0, file?.FileSize ?? 0, watch.Elapsed));

        var reported = pipeline.Hosts
            .Where(h => options.Targets is not null || IsDiscoveredTarget(h, pipeline))
            .OrderBy(h => h.Identity.Ip)
            .Select(TargetReport.Of)
            .ToList();
        return new AnalysisResult
        {
            File = source.Name,
            Link = link,
            Counters = pipeline.Counters,
            FirstTime = run.First,
            LastTime = run.Last,
            Targets = reported,
            Error = run.Error,
            HostsNotTracked = pipeline.HostsNotTracked,
            View = pipeline.View!,
        };
    }
}
