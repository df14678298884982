using System.Globalization;
using System.Text;
using System.Text.Json;
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
        w.WriteLine($"  view: {ViewText(r.View)}");
        if (c.Malformed.Count > 0)
            w.WriteLine("  malformed: " + string.Join(", ", c.Malformed.OrderBy(k => k.Key).Select(k => $"{IssueName(k.Key)} ×{k.Value}")));
        if (r.HostsNotTracked > 0)
            w.WriteLine($"  note: {(r.HostsNotTracked >= WirePipeline.MaxNotTrackedCounted ? "at least " : "")}{r.HostsNotTracked} more hosts were seen beyond the 1024 tracked and not analysed; name targets with --target");
        if (r.Targets.Count == 0)
        {
            w.WriteLine();
            w.WriteLine("No target: no host on the captured segment was pinged or ARPed for by another host. Name one with --target IP.");
        }
        var start = r.FirstTime ?? 0;
        foreach (var t in r.Targets)
        {
            w.WriteLine();
            var v = t.Host.Verdict;
            w.WriteLine($"target {Addresses.Ip(t.Ip)}  mac {(t.Mac == 0 ? "unknown" : Addresses.Mac(t.Mac))}  "
                + $"{v.Incidents.Count(i => i.State == TargetState.Deaf)} deaf, {v.Incidents.Count(i => i.State == TargetState.Down)} down"
                + (v.Incidents.Any(i => i.State == TargetState.Unresponsive) ? $", {v.Incidents.Count(i => i.State == TargetState.Unresponsive)} unresponsive" : "")
                + $"; last state {v.State.Name()}");
            foreach (var (time, text) in Timeline(t, start)) w.WriteLine($"{Offset(time, start),9} s  {Wall(time, "HH:mm:ss.fff")}  {text}");
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
        var v = t.Host.Verdict;
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
            lines.Add((i.Start, 1, $"{i.State.Name(),-6} {Summary(i, start)}"));
        }
        foreach (var n in v.Notes) lines.Add((n.Time, 0, n.Kind.Info().Text));
        return lines.OrderBy(l => l.Time).ThenBy(l => l.Order).Select(l => (l.Time, l.Text));
    }

    /// <summary>One line of evidence for an incident, e.g. "echo unanswered ×3 since 757.0 s; ARP for it unanswered ×3 unicast then ×2 broadcast".</summary>
    public static string Summary(Incident i, long start)
    {
        var e = i.Evidence;
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

    /// <summary>Writes the JSON report.</summary>
    public static void WriteJson(AnalysisResult r, Stream output)
    {
        using var j = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        var start = r.FirstTime ?? 0;
        j.WriteStartObject();
        j.WriteString("file", r.File);
        j.WriteNumber("packets", r.Counters.Frames);
        j.WriteNumber("durationSeconds", Math.Round(r.DurationSeconds, 6));
        j.WriteString("linkType", LinkName(r.Link));
        j.WriteStartObject("view");
        j.WriteString("view", ViewName(r.View.View));
        j.WriteString("source", r.View.Forced ? "option" : r.View.Decided ? "detected" : "assumed");
        if (r.View.OwnMac != 0) j.WriteString("capturedBy", Addresses.Mac(r.View.OwnMac)); else j.WriteNull("capturedBy");
        j.WriteEndObject();
        if (r.FirstTime is { } first) j.WriteString("start", Iso(first)); else j.WriteNull("start");
        j.WriteBoolean("complete", r.Error is null);
        if (r.Error is null) j.WriteNull("error"); else j.WriteString("error", r.Error);
        j.WriteStartObject("counts");
        var c = r.Counters;
        j.WriteNumber("bytes", c.Bytes);
        j.WriteNumber("arpRequests", c.ArpRequests);
        j.WriteNumber("arpReplies", c.ArpReplies);
        j.WriteNumber("arpGratuitous", c.ArpGratuitous);
        j.WriteNumber("echoRequests", c.EchoRequests);
        j.WriteNumber("echoReplies", c.EchoReplies);
        j.WriteNumber("dnsQueries", c.DnsQueries);
        j.WriteNumber("dnsResponses", c.DnsResponses);
        j.WriteNumber("tcpSyn", c.TcpSyn);
        j.WriteNumber("tcpSynAck", c.TcpSynAck);
        j.WriteNumber("ipv6", c.IPv6);
        j.WriteStartObject("malformed");
        foreach (var (issue, n) in c.Malformed.OrderBy(k => k.Key)) j.WriteNumber(IssueName(issue), n);
        j.WriteEndObject();
        j.WriteEndObject();
        j.WriteStartArray("targets");
        foreach (var t in r.Targets)
        {
            var v = t.Host.Verdict;
            j.WriteStartObject();
            j.WriteString("ip", Addresses.Ip(t.Ip));
            if (t.Mac == 0) j.WriteNull("mac"); else j.WriteString("mac", Addresses.Mac(t.Mac));
            j.WriteString("finalState", v.State.Name());
            if (v.LastFrame is { } lf) j.WriteString("lastFrame", Iso(lf)); else j.WriteNull("lastFrame");
            j.WriteStartArray("incidents");
            foreach (var i in v.Incidents)
            {
                j.WriteStartObject();
                j.WriteString("state", i.State.Name());
                j.WriteString("start", Iso(i.Start));
                if (i.End is { } end) j.WriteString("end", Iso(end)); else j.WriteNull("end");
                j.WriteNumber("startOffsetSeconds", Math.Round((i.Start - start) / (double)TimeSpan.TicksPerSecond, 6));
                if (i.End is { } e2) j.WriteNumber("endOffsetSeconds", Math.Round((e2 - start) / (double)TimeSpan.TicksPerSecond, 6)); else j.WriteNull("endOffsetSeconds");
                j.WriteString("endReason", Names.Camel(i.EndReason.Name()));
                WriteEvidence(j, i.Evidence);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteStartArray("changes");
            foreach (var ch in v.Changes)
            {
                j.WriteStartObject();
                j.WriteString("state", ch.State.Name());
                j.WriteString("at", Iso(ch.At));
                j.WriteNumber("offsetSeconds", Math.Round((ch.At - start) / (double)TimeSpan.TicksPerSecond, 6));
                j.WriteString("cause", ch.Cause.Info().JsonName);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteEndObject();
    }

    private static void WriteEvidence(Utf8JsonWriter j, EvidenceCounts e)
    {
        j.WriteStartObject("evidence");
        foreach (var info in EvidenceCatalog.All)
        {
            if (info.JsonCount is null) continue;
            j.WriteNumber(info.JsonCount, e[info.Kind]);
            if (info.Kind == EvidenceKind.ArpForTargetUnanswered) j.WriteNumber("arpUnansweredBroadcast", e.ArpUnansweredBroadcast);
        }
        j.WriteEndObject();
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
