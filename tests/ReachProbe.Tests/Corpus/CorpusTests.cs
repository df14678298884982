using ReachProbe.Analysis;
using Xunit.Abstractions;

namespace ReachProbe.Tests.Corpus;

/// <summary>Every capture in the shared corpus (tcpdump's, libpcap's, gopacket's and Zeek's test captures), cross-checked against tshark.</summary>
public class CorpusTests(ITestOutputHelper output)
{
    private static readonly TimeSpan PerFileBound = TimeSpan.FromSeconds(30);

    // tshark 4.0 opens these, but they are not valid captures (see corpus SOURCES.md).
    private static readonly HashSet<string> AcceptedByTsharkButBroken =
    [
        "libpcap__pcap-empty-file.pcap",
        "libpcap__pcapng-truncated-shb.pcapng",
        "libpcap__pcapng-shb-len-insane.pcapng",
        "libpcap__pcapng-no-idb.pcapng",
    ];

    private sealed record Outcome(AnalysisResult? Result, string? Rejection);

    private static Outcome Run(string path, AnalysisOptions? options = null)
    {
        var task = Task.Run(() =>
        {
            try
            {
                return new Outcome(CaptureAnalyzer.AnalyzeFile(path, options ?? new AnalysisOptions()), null);
            }
            catch (CaptureException e)
            {
                return new Outcome(null, e.Message);
            }
        });
        if (!task.Wait(PerFileBound)) throw new TimeoutException($"{Path.GetFileName(path)}: analysis took longer than {PerFileBound}");
        return task.Result;
    }

    /// <summary>
    /// A capture ReachProbe must read: a valid pcap/pcapng by tshark's verdict and by the corpus's own category (B-file
    /// marks file-format problems, including ones tshark forgives but libpcap's test suite calls invalid), with at
    /// least one interface, not gzip-compressed.
    /// </summary>
    private static bool IsReadableCapture(Dictionary<string, string> row) => !MustBeRejected(row) && !SharedCorpus.Category(row["file"]).Contains("B-file");

    /// <summary>Not a capture ReachProbe can read: tshark fails on it, or it is one of the four tshark forgives, or it has no interface, or it is gzip-compressed.</summary>
    private static bool MustBeRejected(Dictionary<string, string> row) =>
        row["file_type"] is not ("pcap" or "nsecpcap" or "pcapng") || row["tshark_status"] is not ("ok" or "dissector_bug")
        || AcceptedByTsharkButBroken.Contains(row["file"]) || row["dlt"] == "x" || row["dlt"].Contains("(gzip)");

    /// <summary>The first interface's link type, without the FCS/reserved bits libpcap masks off.</summary>
    private static bool HasSupportedLinkType(Dictionary<string, string> row) =>
        row["dlt"].Split('/')[0].Split('(')[0] is "1" or "113" or "276";

    [SkippableFact]
    public void EveryCapture_IsAnalysedOrRejectedWithAClearError()
    {
        var dir = SharedCorpus.Require();
        var problems = new List<string>();
        int analysed = 0, rejected = 0, partial = 0;
        foreach (var row in SharedCorpus.Oracle)
        {
            var file = row["file"];
            var path = Path.Combine(dir, file);
            Outcome outcome;
            try
            {
                outcome = Run(path);
            }
            catch (Exception e)
            {
                problems.Add($"{file}: {e.GetType().Name}: {e.Message}");
                continue;
            }
            var message = outcome.Rejection ?? outcome.Result!.Error;
            if (message is not null)
            {
                if (outcome.Rejection is not null) rejected++; else partial++;
                if (!message.StartsWith(path + ": ", StringComparison.Ordinal) || message.Contains("Exception") || message.Contains('\n'))
                    problems.Add($"{file}: unclear error '{message}'");
            }
            else
            {
                analysed++;
            }

            if (MustBeRejected(row))
            {
                if (message is null) problems.Add($"{file}: broken ({row["tshark_status"]}, {row["file_type"]}, dlt {row["dlt"]}) but analysed without an error");
            }
            else if (!IsReadableCapture(row))
            {
                // A file-format oddity (corpus category B-file) that tshark reads: libpcap may read it or refuse it;
                // either way the message was checked above.
            }
            else if (!HasSupportedLinkType(row))
            {
                if (outcome.Rejection is null || !outcome.Rejection.Contains("unsupported link type"))
                    problems.Add($"{file}: link type {row["dlt"]} should be rejected as unsupported, got '{message}'");
            }
            else if (message is not null && !(row["encap"] == "per-packet" || row["dlt"].Contains('/')))
            {
                // libpcap refuses a pcapng whose later interfaces differ in link type or snapshot length; that is the
                // only accepted way for a readable Ethernet/SLL file to stop early.
                problems.Add($"{file}: readable {row["encap"]} capture, but: {message}");
            }
        }
        output.WriteLine($"{analysed} analysed, {rejected} rejected, {partial} broke off part-way; {SharedCorpus.Oracle.Count} in all");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.Equal(384, SharedCorpus.Oracle.Count);
        Assert.InRange(analysed, 250, 384);
    }

    // Files whose counts differ from tshark's for a reason of their own (beyond the rules in Comparable below).
    private static readonly Dictionary<string, string> KnownDifferences = new()
    {
        ["zeek__arp-leak.pcap"] = "ARP with a 255-byte hardware address: ReachProbe counts it as unsupportedArp, tshark as ARP",
        ["tcpdump__arp-too-long-tha.pcap"] = "ARP with an over-long hardware address: unsupportedArp",
        ["tcpdump__arp-oobr.pcap"] = "fuzzed ARP with odd sizes and opcodes: unsupportedArp",
        ["zeek__snap-arp.pcapng"] = "ARP inside 802.2 LLC/SNAP, which ReachProbe does not unwrap",
        ["zeek__pbb.pcap"] = "802.1ah provider backbone bridging, not unwrapped",
        ["zeek__vntag_vlan_sandwich_clean.pcap"] = "VN-Tag, not unwrapped",
        ["tcpdump__macsec-integonly.pcap"] = "MACsec, not unwrapped",
        ["tcpdump__dhcp-rfc4388.pcap"] = "tshark counts the echo request quoted inside ICMP errors",
        ["zeek__icmp_icmp-destunreach-udp.pcap"] = "tshark counts the DNS message quoted inside an ICMP error",
        ["libpcap__ah-ipip-ping.pcap"] = "IP-in-IP under AH: tshark counts the inner echo",
        ["zeek__tunnels_geneve-arp.pcap"] = "ARP inside Geneve: tshark counts the inner ARP",
        ["zeek__trunc_icmp-header-trunc.pcap"] = "ICMP cut before its identifier: not an echo ReachProbe can match",
        ["tcpdump__dns_tcp.pcap"] = "DNS over TCP (ReachProbe: UDP port 53 only)",
        ["zeek__dns-edns-cookie.pcap"] = "DNS over TCP",
        ["zeek__dns_tkey.pcap"] = "DNS over TCP",
        ["zeek__dns-edns-ecs.pcap"] = "DNS over TCP, over IPv4 and IPv6 (the IPv6 DNS over UDP matches)",
        ["zeek__communityid_icmp6.pcap"] = "tshark counts the DNS response quoted inside an ICMPv6 destination unreachable",
        ["tcpdump__dns_udp_8053.pcap"] = "DNS on port 8053",
        ["zeek__quic_vector-max-size-crash.pcap"] = "tshark's heuristic takes UDP 443 for DNS",
        ["tcpdump__rtp-seg-fault-1.pcapng"] = "a DNS 'query' with no question section: BadDns",
        ["tcpdump__dns-badlabel.pcap"] = "malformed question name: BadDns",
        ["tcpdump__dns_fwdptr.pcap"] = "forward compression pointer in the question: BadDns",
        ["zeek__dns_dns-invalid-names.pcap"] = "malformed question names: BadDns",
        ["tcpdump__someip1.pcap"] = "tshark's heuristic takes SOME/IP payloads for DNS",
        ["zeek__smb_smb_v2_only_non_zero_reserved1.pcap"] = "NetBIOS name service on 137 dissected with dns.* fields",
        ["zeek__igmp_home-multicast-short.pcap"] = "mDNS, which tshark counts as DNS",
        ["zeek__tunnels_gtp_gtp7_ipv6.pcap"] = "tunnelled",
    };

    private static readonly (string Oracle, Func<WireCounters, long> Ours, string Family)[] Columns =
    [
        ("arp_req", c => c.ArpRequests, "arp"),
        ("arp_rep", c => c.ArpReplies, "arp"),
        ("arp_gratuitous", c => c.ArpGratuitous, "arp"),
        ("icmp_echo_req", c => c.EchoRequests, "icmp"),
        ("icmp_echo_rep", c => c.EchoReplies, "icmp"),
        ("dns_query", c => c.DnsQueries, "dns"),
        ("dns_response", c => c.DnsResponses, "dns"),
        ("tcp_syn", c => c.TcpSyn, "tcp"),
        ("tcp_synack", c => c.TcpSynAck, "tcp"),
    ];

    /// <summary>
    /// Systematic differences, each a rule: tshark counts protocols inside tunnels (GRE, VXLAN, Geneve, ERSPAN, GTP)
    /// and dissects mDNS and LLMNR with the DNS fields; ReachProbe reads outer Ethernet/IPv4 and IPv6, and DNS on UDP
    /// port 53, because that is where a LAN host's own traffic is.
    /// </summary>
    private static bool Comparable(Dictionary<string, string> row, WireCounters ours, string family) =>
        row.Long("tunnel_frames") == 0
        && !KnownDifferences.ContainsKey(row["file"])
        && !(family == "dns" && row.Long("mdns_llmnr_frames") > 0);

    [SkippableFact]
    public void Counts_MatchTshark_WhereComparable()
    {
        var dir = SharedCorpus.Require();
        var mismatches = new List<string>();
        int compared = 0, nonZero = 0;
        foreach (var row in SharedCorpus.Oracle.Where(r => IsReadableCapture(r) && HasSupportedLinkType(r)))
        {
            var outcome = Run(Path.Combine(dir, row["file"]));
            if (outcome.Result is not { Error: null } result) continue;
            foreach (var (column, ours, family) in Columns)
            {
                if (!Comparable(row, result.Counters, family)) continue;
                compared++;
                var expected = row.Long(column);
                if (expected > 0) nonZero++;
                if (ours(result.Counters) != expected) mismatches.Add($"{row["file"]} {column}: tshark {expected}, ReachProbe {ours(result.Counters)}");
            }
            if (result.Counters.Frames != row.Long("capinfos_packets")) mismatches.Add($"{row["file"]}: {result.Counters.Frames} frames, capinfos {row["capinfos_packets"]}");
        }
        output.WriteLine($"{compared} counts compared, {nonZero} of them non-zero");
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        Assert.True(compared > 1800 && nonZero > 250, $"only {compared} comparisons ({nonZero} non-zero): the cross-check lost its teeth");
    }

    [SkippableFact]
    public void KnownDifferences_AreStillDifferent()
    {
        // An explanation that no longer applies would hide a regression: each listed file must still differ somewhere.
        var dir = SharedCorpus.Require();
        var stale = new List<string>();
        foreach (var row in SharedCorpus.Oracle.Where(r => KnownDifferences.ContainsKey(r["file"])))
        {
            var outcome = Run(Path.Combine(dir, row["file"]));
            if (outcome.Result is not { Error: null } result) continue;
            if (Columns.All(c => c.Ours(result.Counters) == row.Long(c.Oracle))) stale.Add(row["file"]);
        }
        Assert.True(stale.Count == 0, "no longer different: " + string.Join(", ", stale));
    }

    private static EvidenceCounts TrackEveryHost(string path)
    {
        // Pre-scan for every IPv4 source, then watch them all.
        var targets = new Dictionary<UInt128, ulong>();
        using (var source = CaptureFileSource.Open(path))
            while (source.TryRead(out var frame))
                if (FrameDecoder.TryDecode(source.Link, frame.Data, frame.Time, out var f) && f.Kind == FrameKind.IPv4 && WirePipeline.IsUnicast(f.IpSrc))
                    targets[f.IpSrc] = 0;
        var result = CaptureAnalyzer.AnalyzeFile(path, new AnalysisOptions { Targets = targets });
        var totals = new EvidenceCounts();
        foreach (var t in result.Targets) totals.Merge(t.Totals);
        return totals;
    }

    [SkippableFact]
    public void ReorderedHandshake_IsNotASynRetransmission()
    {
        var totals = TrackEveryHost(Path.Combine(SharedCorpus.Require(), "zeek__tcp_handshake-reorder.pcap"));
        Assert.Equal(0, totals[EvidenceKind.SynRetransmittedAfterSynAck]);
        Assert.True(totals[EvidenceKind.TcpAnsweredByTarget] > 0);
    }

    [SkippableTheory]
    [InlineData("zeek__http_206_example_a.pcap")]
    [InlineData("zeek__rdp_rdp-x509.pcap")]
    public void SynAfterSynAck_InRealCaptures_IsFound(string file)
    {
        var totals = TrackEveryHost(Path.Combine(SharedCorpus.Require(), file));
        var row = SharedCorpus.Oracle.Single(r => r["file"] == file);
        output.WriteLine($"{file}: ReachProbe {totals[EvidenceKind.SynRetransmittedAfterSynAck]}, heuristic {row["tcp_syn_after_synack_drv"]}");
        Assert.InRange(totals[EvidenceKind.SynRetransmittedAfterSynAck], 1, row.Long("tcp_syn_after_synack_drv"));
    }

    [SkippableFact]
    public void SameFourTupleOnOtherVlans_IsNotASynRetransmission()
    {
        // The oracle's heuristic counts one here: it ignores that the first handshake completed and that the later
        // SYNs are other connections with the same addresses on VLANs 10/20 and 42.
        var totals = TrackEveryHost(Path.Combine(SharedCorpus.Require(), "zeek__vlan-collisions.pcap"));
        Assert.Equal(0, totals[EvidenceKind.SynRetransmittedAfterSynAck]);
        Assert.True(totals[EvidenceKind.TcpAnsweredByTarget] >= 1);
    }

    [SkippableFact]
    public void DnsRepeatAfterAnswer_IsStricterThanTheHeuristic()
    {
        // The oracle's heuristic ignores the transaction id; ReachProbe requires the same query. It may find fewer, never more.
        var dir = SharedCorpus.Require();
        long ours = 0, heuristic = 0;
        foreach (var row in SharedCorpus.Oracle.Where(r => r.Long("dns_query_after_answer_drv") > 0 && r.Long("mdns_llmnr_frames") == 0 && HasSupportedLinkType(r)))
        {
            var totals = TrackEveryHost(Path.Combine(dir, row["file"]));
            output.WriteLine($"{row["file"]}: ReachProbe {totals[EvidenceKind.DnsRepeatedAfterAnswer]}, heuristic {row["dns_query_after_answer_drv"]}");
            Assert.InRange(totals[EvidenceKind.DnsRepeatedAfterAnswer], 0, row.Long("dns_query_after_answer_drv"));
            ours += totals[EvidenceKind.DnsRepeatedAfterAnswer];
            heuristic += row.Long("dns_query_after_answer_drv");
        }
        // In these captures every re-query after an answer carries a new transaction id (a new lookup, not a repeat):
        // the heuristic counts them, ReachProbe rightly does not. The planted field-report capture covers the positive case.
        Assert.True(heuristic > 0);
        output.WriteLine($"ReachProbe {ours}, heuristic {heuristic}");
    }
}
