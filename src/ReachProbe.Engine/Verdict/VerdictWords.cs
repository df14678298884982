using System.Globalization;

namespace ReachProbe.Verdict;

/// <summary>
/// A verdict in a person's words, for the agent's log and <c>probe</c>'s last line alike: what the target did (it
/// transmits, or is silent, or its link is down) and what it left unanswered, counted from an incident's evidence.
/// </summary>
public static class VerdictWords
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The state as a log or a verdict line shouts it: UP, DEAF, DOWN, UNRESPONSIVE, UNKNOWN.</summary>
    public static string Loud(this TargetState s) => s.Name().ToUpperInvariant();

    /// <summary>
    /// Why a target is deaf, down or unresponsive, from its incident's evidence: "transmits (4 frames) but answered none
    /// of 3 echo requests and 3 ARP requests", "silent, its link down; answered none of 2 echo requests", "answered none
    /// of 3 probe attempts; from a switched view its own traffic cannot be seen, so deaf cannot be told from down".
    /// <paramref name="linkDown"/>: its own link is known to be down (its bridge port's carrier).
    /// </summary>
    public static string Why(TargetState state, EvidenceCounts e, string? attempts = null, bool linkDown = false)
    {
        var unanswered = Unanswered(e, attempts);
        switch (state)
        {
            case TargetState.Deaf:
                return $"transmits ({Transmitted(e)}) but answered none of {unanswered}";
            case TargetState.Down:
                var silent = linkDown || e[EvidenceKind.TargetLinkDown] > 0 ? "silent, its link down" : e[EvidenceKind.FrameFromTarget] > 0 ? "silent since its last frame" : "silent: no frame from it";
                return unanswered == NothingAsked ? silent : $"{silent}; answered none of {unanswered}";
            case TargetState.Unresponsive:
                return $"answered none of {unanswered}; from a switched view its own traffic cannot be seen, so deaf cannot be told from down yet";
            default:
                return "";
        }
    }

    private const string NothingAsked = "nothing asked";

    /// <summary>
    /// "3 echo requests and 3 ARP requests"; the probes' own count when the wire counted neither, with
    /// <paramref name="attempts"/> saying which they were ("icmp ×3, arp ×3") when the caller knows.
    /// </summary>
    public static string Unanswered(EvidenceCounts e, string? attempts = null)
    {
        var parts = new List<string>();
        if (e[EvidenceKind.EchoUnanswered] is > 0 and var echo) parts.Add(Count(echo, "echo request"));
        if (e[EvidenceKind.ArpForTargetUnanswered] is > 0 and var arp) parts.Add(Count(arp, "ARP request"));
        if (parts.Count == 0 && e[EvidenceKind.ProbeUnanswered] is > 0 and var probes) parts.Add(Count(probes, "probe attempt") + (attempts is null ? "" : $" ({attempts})"));
        return parts.Count switch
        {
            0 => NothingAsked,
            1 => parts[0],
            _ => string.Join(", ", parts[..^1]) + " and " + parts[^1],
        };
    }

    /// <summary>"4 frames, its ARP repeated after reply ×3": what shows it transmits.</summary>
    public static string Transmitted(EvidenceCounts e)
    {
        var parts = new List<string>();
        if (e[EvidenceKind.FrameFromTarget] is > 0 and var frames) parts.Add(Count(frames, "frame"));
        foreach (var info in EvidenceCatalog.All)
            if (info.Category == EvidenceCategory.Ignored && e[info.Kind] > 0) parts.Add($"{info.CountText} ×{e[info.Kind]}");
        return parts.Count == 0 ? "frames" : string.Join(", ", parts);
    }

    /// <summary>
    /// A line of evidence in the words of <paramref name="ip"/>'s family: for an IPv6 host, ARP's signatures are read from
    /// neighbour discovery (solicitations for ARP requests, to the solicited-node group for broadcast, an unsolicited
    /// advertisement for a gratuitous ARP), and say so.
    /// </summary>
    public static string InFamily(string text, UInt128 ip) => Wire.Addresses.IsV4(ip) ? text : text
        .Replace("ARP request", "neighbour solicitation", StringComparison.Ordinal)
        .Replace("answered ARP for it", "answered neighbour discovery for it", StringComparison.Ordinal)
        .Replace("ARP for it unanswered", "NDP for it unanswered", StringComparison.Ordinal)
        .Replace(" broadcast", " multicast", StringComparison.Ordinal)
        .Replace("gratuitous ARP", "unsolicited NA", StringComparison.Ordinal)
        .Replace("its ARP repeated after reply", "its NDP repeated after advertisement", StringComparison.Ordinal)
        .Replace("ARP", "NDP", StringComparison.Ordinal);

    /// <summary>"42 s", "3 min 5 s", "2 h 4 min", "3 d 2 h".</summary>
    public static string Duration(TimeSpan d)
    {
        if (d < TimeSpan.Zero) d = TimeSpan.Zero;
        if (d.TotalSeconds < 10) return d.TotalSeconds.ToString("0.#", Inv) + " s";
        if (d.TotalMinutes < 1) return ((int)d.TotalSeconds).ToString(Inv) + " s";
        if (d.TotalHours < 1) return string.Create(Inv, $"{(int)d.TotalMinutes} min {d.Seconds} s");
        if (d.TotalDays < 1) return string.Create(Inv, $"{(int)d.TotalHours} h {d.Minutes} min");
        return string.Create(Inv, $"{(int)d.TotalDays} d {d.Hours} h");
    }

    private static string Count(long n, string noun) => n.ToString(Inv) + " " + noun + (n == 1 ? "" : "s");
}
