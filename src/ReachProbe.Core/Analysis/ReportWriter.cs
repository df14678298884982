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
        if (c.Malformed.Count > 0)
            w.WriteLine("  malformed: " + string.Join(", ", c.Malformed.OrderBy(k => k.Key).Select(k => $"{IssueName(k.Key)} ×{k.Value}")));
        if (r.HostsNotTracked > 0)
            w.WriteLine($"  note: {r.HostsNotTracked} frames named hosts beyond the 1024 tracked; name targets with --target");
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
                + $"{v.Incidents.Count(i => i.State == TargetState.Deaf)} deaf, {v.Incidents.Count(i => i.State == TargetState.Down)} down; last state {Name(v.State)}");
            foreach (var (time, text) in Timeline(t, start)) w.WriteLine($"{Offset(time, start),9} s  {Wall(time, "HH:mm:ss.fff")}  {text}");
        }
        if (r.Error is not null)
        {
            w.WriteLine();
            w.WriteLine($"INCOMPLETE: {r.Error}; the results above cover the packets before it.");
        }
    }

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
                var suffix = after is null ? "" : $", after {Seconds(after.End!.Value - after.Start)} s {Name(after.State)}";
                lines.Add((change.At, 2, $"{Name(change.State),-6} {CauseText(change.Cause)}{suffix}"));
            }
        }
        foreach (var i in v.Incidents)
        {
            lines.Add((i.Start, 1, $"{Name(i.State),-6} {Summary(i, start)}"));
        }
        foreach (var n in v.Notes)
        {
            var text = n.Kind switch
            {
                EvidenceKind.GratuitousArp => "gratuitous ARP",
                EvidenceKind.Silence => "last frame before a silence",
                EvidenceKind.TargetLinkDown => "link down",
                EvidenceKind.TargetLinkUp => "link up",
                EvidenceKind.MonitorBlind => "monitor blind",
                EvidenceKind.MonitorSighted => "monitor sees again",
                _ => n.Kind.ToString(),
            };
            lines.Add((n.Time, 0, text));
        }
        return lines.OrderBy(l => l.Time).ThenBy(l => l.Order).Select(l => (l.Time, l.Text));
    }

    /// <summary>One line of evidence for an incident, e.g. "echo unanswered ×3 since 757.0 s; ARP for it unanswered ×3 unicast then ×2 broadcast".</summary>
    public static string Summary(Incident i, long start)
    {
        var e = i.Evidence;
        var parts = new List<string>();
        if (e[EvidenceKind.EchoUnanswered] > 0)
            parts.Add($"echo unanswered ×{e[EvidenceKind.EchoUnanswered]} since {Offset(e.FirstTime(EvidenceKind.EchoUnanswered)!.Value, start)} s");
        var arp = e[EvidenceKind.ArpForTargetUnanswered];
        if (arp > 0)
        {
            var unicast = arp - e.ArpUnansweredBroadcast;
            parts.Add(unicast > 0 && e.ArpUnansweredBroadcast > 0 && e.FirstArpUnicast <= e.FirstArpBroadcast
                ? $"ARP for it unanswered ×{unicast} unicast then ×{e.ArpUnansweredBroadcast} broadcast"
                : $"ARP for it unanswered ×{arp}" + (unicast == 0 ? " broadcast" : e.ArpUnansweredBroadcast == 0 ? " unicast" : ""));
        }
        if (e[EvidenceKind.DnsRepeatedAfterAnswer] > 0) parts.Add($"DNS query repeated after answer ×{e[EvidenceKind.DnsRepeatedAfterAnswer]}");
        if (e[EvidenceKind.SynRetransmittedAfterSynAck] > 0) parts.Add($"SYN retransmitted after SYN/ACK ×{e[EvidenceKind.SynRetransmittedAfterSynAck]}");
        if (e[EvidenceKind.ArpRepeatedAfterReply] > 0) parts.Add($"its ARP repeated after reply ×{e[EvidenceKind.ArpRepeatedAfterReply]}");
        if (e[EvidenceKind.ProbeUnanswered] > 0) parts.Add($"probes unanswered ×{e[EvidenceKind.ProbeUnanswered]}");
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
            j.WriteString("finalState", Name(v.State));
            if (v.LastFrame is { } lf) j.WriteString("lastFrame", Iso(lf)); else j.WriteNull("lastFrame");
            j.WriteStartArray("incidents");
            foreach (var i in v.Incidents)
            {
                j.WriteStartObject();
                j.WriteString("state", Name(i.State));
                j.WriteString("start", Iso(i.Start));
                if (i.End is { } end) j.WriteString("end", Iso(end)); else j.WriteNull("end");
                j.WriteNumber("startOffsetSeconds", Math.Round((i.Start - start) / (double)TimeSpan.TicksPerSecond, 6));
                if (i.End is { } e2) j.WriteNumber("endOffsetSeconds", Math.Round((e2 - start) / (double)TimeSpan.TicksPerSecond, 6)); else j.WriteNull("endOffsetSeconds");
                j.WriteString("endReason", i.EndReason switch
                {
                    IncidentEnd.Open => "open",
                    IncidentEnd.Recovered => "recovered",
                    IncidentEnd.StateChanged => "stateChanged",
                    _ => "monitorBlind",
                });
                WriteEvidence(j, i.Evidence);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteStartArray("changes");
            foreach (var ch in v.Changes)
            {
                j.WriteStartObject();
                j.WriteString("state", Name(ch.State));
                j.WriteString("at", Iso(ch.At));
                j.WriteNumber("offsetSeconds", Math.Round((ch.At - start) / (double)TimeSpan.TicksPerSecond, 6));
                j.WriteString("cause", Camel(ch.Cause.ToString()));
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
        j.WriteNumber("icmpUnanswered", e[EvidenceKind.EchoUnanswered]);
        j.WriteNumber("arpUnanswered", e[EvidenceKind.ArpForTargetUnanswered]);
        j.WriteNumber("arpUnansweredBroadcast", e.ArpUnansweredBroadcast);
        j.WriteNumber("dnsRepeatedAfterAnswer", e[EvidenceKind.DnsRepeatedAfterAnswer]);
        j.WriteNumber("synRetransmittedAfterSynAck", e[EvidenceKind.SynRetransmittedAfterSynAck]);
        j.WriteNumber("arpRepeatedAfterReply", e[EvidenceKind.ArpRepeatedAfterReply]);
        j.WriteNumber("gratuitousArp", e[EvidenceKind.GratuitousArp]);
        j.WriteNumber("framesFromTarget", e[EvidenceKind.FrameFromTarget]);
        j.WriteEndObject();
    }

    /// <summary>Lower-case state name as used in output and metrics.</summary>
    public static string Name(TargetState s) => s switch
    {
        TargetState.Up => "up",
        TargetState.Deaf => "deaf",
        TargetState.Down => "down",
        _ => "unknown",
    };

    private static string CauseText(EvidenceKind k) => k switch
    {
        EvidenceKind.EchoAnswered => "echo answered",
        EvidenceKind.ArpAnsweredByTarget => "answered ARP",
        EvidenceKind.TcpAnsweredByTarget => "answered TCP",
        EvidenceKind.ProbeAnswered => "probe answered",
        EvidenceKind.MonitorBlind => "monitor blind",
        _ => Camel(k.ToString()),
    };

    private static string IssueName(DecodeIssue i) => Camel(i.ToString());

    private static string Camel(string s) => char.ToLowerInvariant(s[0]) + s[1..];

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
