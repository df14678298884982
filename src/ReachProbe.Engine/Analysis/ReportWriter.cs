using System.Globalization;
using System.Text;
using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Analysis;

/// <summary>Renders an <see cref="AnalysisResult"/> as a human timeline or as JSON (the shape README documents).</summary>
public static class ReportWriter
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Writes the timeline in the spirit of the field report: offsets from capture start and UTC wall-clock times.</summary>
    public static void WriteText(AnalysisResult r, TextWriter w)
    {
        var c = r.Counters;
        w.WriteLine($"{r.File}: {c.Frames.ToString("N0", Inv)} packets ({LinkName(r.Link)}), {r.DurationSeconds.ToString("0.0", Inv)} s"
            + (r.FirstTime is { } f ? $", {Wall(f, "yyyy-MM-dd HH:mm:ss.fff")} to {Wall(r.LastTime!.Value, "yyyy-MM-dd HH:mm:ss.fff")} UTC" : ""));
        w.WriteLine($"  ARP {c.ArpRequests} requests / {c.ArpReplies} replies / {c.ArpGratuitous} gratuitous; echo {c.EchoRequests} requests / {c.EchoReplies} replies; "
            + $"DNS {c.DnsQueries} queries / {c.DnsResponses} responses; TCP {c.TcpSyn} SYN / {c.TcpSynAck} SYN/ACK");
        if (c.IPv6 > 0)
            w.WriteLine($"  IPv6 {c.IPv6} frames: NDP {c.NdpSolicitations} solicitations / {c.NdpAdvertisements} advertisements / {c.NdpUnsolicited} unsolicited; "
                + $"echo {c.EchoV6Requests} requests / {c.EchoV6Replies} replies");
        w.WriteLine($"  view: {ViewText(r.View)}");
        if (c.Malformed.Count > 0)
            w.WriteLine("  malformed: " + string.Join(", ", c.Malformed.OrderBy(k => k.Key).Select(k => $"{IssueName(k.Key)} ×{k.Value}")));
        if (r.HostsNotTracked > 0)
            w.WriteLine($"  note: {(r.HostsNotTracked >= WirePipeline.MaxNotTrackedCounted ? "at least " : "")}{r.HostsNotTracked} more hosts were seen beyond the 1024 tracked and not analysed; name targets with --target");
        if (r.Targets.Count == 0)
        {
            w.WriteLine();
            w.WriteLine("No target: no host on the captured segment was pinged, ARPed or solicited for by another host. Name one with --target IP.");
        }
        var start = r.FirstTime ?? 0;
        foreach (var t in r.Targets)
        {
            w.WriteLine();
            w.WriteLine($"target {Addresses.Ip(t.Ip)}  mac {(t.Mac == 0 ? "unknown" : Addresses.Mac(t.Mac))}  "
                + $"{t.Incidents.Count(i => i.State == TargetState.Deaf)} deaf, {t.Incidents.Count(i => i.State == TargetState.Down)} down"
                + (t.Incidents.Any(i => i.State == TargetState.Unresponsive) ? $", {t.Incidents.Count(i => i.State == TargetState.Unresponsive)} unresponsive" : "")
                + $"; last state {t.FinalState.Name()}");
            foreach (var (time, text) in Timeline(t, start)) w.WriteLine($"{Offset(time, start),9} s  {Wall(time, "HH:mm:ss.fff")}  {VerdictWords.InFamily(text, t.Ip)}");
        }
        if (r.Error is not null)
        {
            w.WriteLine();
            w.WriteLine($"INCOMPLETE: {r.Error}; the results above cover the packets before it.");
        }
    }

    /// <summary>The view and how it was known, in a few words.</summary>
    public static string ViewText(SegmentView v) => (v.View, v.Forced, v.Inferred) switch
    {
        (_, true, _) => $"{ViewName(v.View)} (--view)",
        (CaptureView.Switched, _, true) => $"switched (every unicast frame involves {Addresses.Mac(v.OwnMac)}, which pings: taken there on a switch port; "
            + "a target that answers nothing and is not seen is unresponsive, not down; --view full if this came from a bridge or mirror port)",
        (CaptureView.Full, _, _) when v.Decided => "full (unicast between other hosts)",
        (CaptureView.Full, _, _) => "full (assumed: no sign of a switch port; --view switched if it was taken on one)",
        _ => "switched (only broadcasts and the capturing host's own traffic)",
    };

    /// <summary>"full" or "switched".</summary>
    public static string ViewName(CaptureView v) => v == CaptureView.Full ? "full" : "switched";

    private static IEnumerable<(long Time, string Text)> Timeline(TargetReport t, long start)
    {
        var v = t;
        var lines = new List<(long Time, int Order, string Text)>();
        var endedAt = v.Incidents
            .Where(i => i.End is not null && i.EndReason is IncidentEnd.Recovered or IncidentEnd.MonitorBlind)
            .GroupBy(i => i.End!.Value)
            .ToDictionary(g => g.Key, g => g.Last());
        foreach (var change in v.Changes)
        {
            if (change.State is TargetState.Up or TargetState.Unknown)
            {
                var after = endedAt.GetValueOrDefault(change.At);
                var suffix = after is null ? "" : $", after {Seconds(after.End!.Value - after.Start)} s {after.State.Name()}";
                lines.Add((change.At, 2, $"{change.State.Name(),-6} {change.Cause.Info().Text}{suffix}"));
            }
        }
        foreach (var i in v.Incidents)
        {
            lines.Add((i.Start, 1, $"{i.State.Name(),-6} {Summary(i.Evidence, start)}"));
        }
        foreach (var n in v.Notes) lines.Add((n.Time, 0, n.Kind.Info().Text));
        return lines.OrderBy(l => l.Time).ThenBy(l => l.Order).Select(l => (l.Time, l.Text));
    }

    /// <summary>One line of evidence for an incident, e.g. "echo unanswered ×3 since 757.0 s; ARP for it unanswered ×3 unicast then ×2 broadcast".</summary>
    public static string Summary(EvidenceCounts e, long start)
    {
        var parts = new List<string>();
        if (e[EvidenceKind.EchoUnanswered] > 0)
            parts.Add($"{EvidenceKind.EchoUnanswered.Info().Text} ×{e[EvidenceKind.EchoUnanswered]} since {Offset(e.FirstTime(EvidenceKind.EchoUnanswered)!.Value, start)} s");
        var arp = e[EvidenceKind.ArpForTargetUnanswered];
        if (arp > 0)
        {
            var unicast = arp - e.ArpUnansweredBroadcast;
            parts.Add(unicast > 0 && e.ArpUnansweredBroadcast > 0 && e.FirstArpUnicast <= e.FirstArpBroadcast
                ? $"ARP for it unanswered ×{unicast} unicast then ×{e.ArpUnansweredBroadcast} broadcast"
                : $"ARP for it unanswered ×{arp}" + (unicast == 0 ? " broadcast" : e.ArpUnansweredBroadcast == 0 ? " unicast" : ""));
        }
        foreach (var info in EvidenceCatalog.All)
            if (info.CountText is not null && e[info.Kind] > 0) parts.Add($"{info.CountText} ×{e[info.Kind]}");
        parts.Add(e[EvidenceKind.FrameFromTarget] > 0 ? $"frames from it ×{e[EvidenceKind.FrameFromTarget]}" : "no frame from it");
        return string.Join("; ", parts);
    }

    /// <summary>Writes the JSON report (System.Text.Json, source-generated: <see cref="ReportJsonContext"/>).</summary>
    /// <param name="r">The analysis.</param>
    /// <param name="output">Where to write.</param>
    /// <param name="labels">The person's labels of the targets (<c>--label</c>), on each target; none when null or empty.</param>
    public static void WriteJson(AnalysisResult r, Stream output, IReadOnlyDictionary<string, string>? labels = null)
    {
        if (labels is { Count: 0 }) labels = null;
        var start = r.FirstTime ?? 0;
        double Offset(long t) => Math.Round((t - start) / (double)TimeSpan.TicksPerSecond, 6);
        var c = r.Counters;
        var report = new JsonReport(
            r.File, c.Frames, Math.Round(r.DurationSeconds, 6), LinkName(r.Link),
            new JsonView(ViewName(r.View.View), r.View.Forced ? "option" : r.View.Decided ? "detected" : "assumed", r.View.OwnMac != 0 ? Addresses.Mac(r.View.OwnMac) : null),
            r.FirstTime is { } first ? Iso(first) : null, r.Error is null, r.Error,
            new JsonCounts(c.Bytes, c.ArpRequests, c.ArpReplies, c.ArpGratuitous, c.EchoRequests, c.EchoReplies, c.DnsQueries, c.DnsResponses, c.TcpSyn, c.TcpSynAck, c.IPv6,
                c.NdpSolicitations, c.NdpAdvertisements, c.NdpUnsolicited, c.EchoV6Requests, c.EchoV6Replies,
                c.Malformed.OrderBy(k => k.Key).ToDictionary(k => IssueName(k.Key), k => k.Value)),
            r.Targets.Select(t => new JsonTarget(
                Addresses.Ip(t.Ip), Addresses.Family(t.Ip), t.Mac == 0 ? null : Addresses.Mac(t.Mac), t.FinalState.Name(), t.LastFrame is { } lf ? Iso(lf) : null,
                t.Incidents.Select(i => new JsonIncident(i.State.Name(), Iso(i.Start), i.End is { } end ? Iso(end) : null, Offset(i.Start),
                    i.End is { } e2 ? Offset(e2) : null, Names.Camel(i.EndReason.Name()), Evidence(i.Evidence))).ToList(),
                t.Changes.Select(ch => new JsonChange(ch.State.Name(), Iso(ch.At), Offset(ch.At), ch.Cause.Info().JsonName)).ToList(), labels)).ToList());
        System.Text.Json.JsonSerializer.Serialize(output, report, ReportJsonContext.Default.JsonReport);
    }

    /// <summary>An incident's evidence by its JSON names (<see cref="EvidenceCatalog"/>), in the catalogue's order.</summary>
    private static Dictionary<string, long> Evidence(EvidenceCounts e)
    {
        var d = new Dictionary<string, long>();
        foreach (var info in EvidenceCatalog.All)
        {
            if (info.JsonCount is null) continue;
            d[info.JsonCount] = e[info.Kind];
            if (info.Kind == EvidenceKind.ArpForTargetUnanswered) d["arpUnansweredBroadcast"] = e.ArpUnansweredBroadcast;
        }
        return d;
    }

    private static string IssueName(DecodeIssue i) => Camel(i.ToString());

    private static string Camel(string s) => Names.Camel(s);

    private static string LinkName(LinkKind l) => l switch
    {
        LinkKind.Ethernet => "ethernet",
        LinkKind.LinuxSll => "linux-sll",
        _ => "linux-sll2",
    };

    private static string Offset(long t, long start) => Seconds(t - start);

    private static string Seconds(long ticks) => (ticks / (double)TimeSpan.TicksPerSecond).ToString("0.0", Inv);

    private static string Wall(long t, string format) => new DateTime(t, DateTimeKind.Utc).ToString(format, Inv);

    private static string Iso(long t) => new DateTime(t, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", Inv);
}
