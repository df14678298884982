using ReachProbe.Settings;
using System.Globalization;
using System.Net;

namespace ReachProbe.Probes;

/// <summary>The kinds of probe.</summary>
public enum ProbeKind : byte
{
    /// <summary>ICMP echo.</summary>
    Icmp,
    /// <summary>ARP who-has.</summary>
    Arp,
    /// <summary>IPv6 neighbour solicitation, ARP's twin.</summary>
    Ndp,
    /// <summary>DNS query to the monitor's resolver (or a configured server).</summary>
    Dns,
    /// <summary>DNS query to the target itself.</summary>
    DnsTarget,
    /// <summary>TCP connect.</summary>
    Tcp,
    /// <summary>PlayStation device discovery.</summary>
    Ddp,
}

/// <summary>One probe as written on the command line or in the config: icmp, arp, ndp, dns[:NAME], dns@target[:NAME], tcp:PORT, ddp.</summary>
/// <param name="Kind">Kind.</param>
/// <param name="Text">As written (normalised), used as the probe's name.</param>
/// <param name="Port">TCP port.</param>
/// <param name="Query">DNS name asked for.</param>
public sealed record ProbeSpec(ProbeKind Kind, string Text, int Port = 0, string? Query = null)
{
    /// <summary>The default set: ICMP, ARP and console discovery.</summary>
    public const string Defaults = "icmp,arp,ddp";

    /// <summary>The default time between a target's probes (configuration, <c>run</c>): 5 s.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(5);

    /// <summary>The default per-attempt timeout (configuration, <c>run</c>, <c>probe</c>): 1 s, and never more than the interval.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Every probe as it is written, for help texts and documentation: "icmp, arp, dns[:NAME], …".</summary>
    public static string Syntaxes => string.Join(", ", ProbeType.All.Select(p => p.Syntax));

    /// <summary>The name a DNS probe asks for when none is given: "localhost", which resolvers answer themselves (RFC 6761).</summary>
    public const string DefaultQuery = "localhost";

    /// <summary>Parses a comma-separated list; every problem is listed, each naming the item.</summary>
    public static IReadOnlyList<ProbeSpec> ParseList(string text, out IReadOnlyList<string> problems)
    {
        var list = new List<ProbeSpec>();
        var errors = new List<string>();
        foreach (var raw in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (TryParse(raw, out var spec, out var problem))
            {
                if (list.Any(s => s.Text == spec!.Text)) errors.Add($"'{Quote.Clip(raw)}' is listed twice");
                else list.Add(spec!);
            }
            else
            {
                errors.Add(problem!);
            }
        }
        if (list.Count == 0 && errors.Count == 0) errors.Add("no probe given");
        // A list of a hundred thousand wrong items is not a hundred thousand lines.
        const int Shown = 5;
        if (errors.Count > Shown + 1) errors = [.. errors.Take(Shown), $"and {errors.Count - Shown} more problems in the list"];
        problems = errors;
        return list;
    }

    /// <summary>Parses one probe: the first row of <see cref="ProbeType.All"/> whose syntax matches.</summary>
    public static bool TryParse(string text, out ProbeSpec? spec, out string? problem)
    {
        spec = null;
        problem = null;
        var t = text.Trim();
        foreach (var type in ProbeType.All)
        {
            if (!type.Matches(t.ToLowerInvariant())) continue;
            spec = type.Parse(t, out problem);
            return spec is not null;
        }
        problem = $"unknown probe '{Quote.Clip(text)}' (known: {Syntaxes})";
        return false;
    }

    /// <summary>
    /// The default probes for an address of <paramref name="ip"/>'s family: for IPv6, <c>ndp</c> where they say
    /// <c>arp</c>, and without <c>ddp</c> (PlayStation discovery is IPv4 broadcast); for IPv4, <c>arp</c> where they say <c>ndp</c>.
    /// </summary>
    public static IReadOnlyList<ProbeSpec> ForFamily(IReadOnlyList<ProbeSpec> defaults, IPAddress ip)
    {
        var v6 = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        var list = new List<ProbeSpec>();
        foreach (var p in defaults)
        {
            var kind = p.Kind switch { ProbeKind.Arp or ProbeKind.Ndp => v6 ? ProbeKind.Ndp : ProbeKind.Arp, _ => p.Kind };
            if (v6 && kind == ProbeKind.Ddp || list.Any(l => l.Kind == kind && kind is ProbeKind.Arp or ProbeKind.Ndp)) continue;
            list.Add(kind == p.Kind ? p : new ProbeSpec(kind, kind == ProbeKind.Ndp ? "ndp" : "arp"));
        }
        return list;
    }

    /// <summary>Why <paramref name="probe"/> cannot watch <paramref name="ip"/> (ARP and console discovery are IPv4's, NDP IPv6's), or null.</summary>
    public static string? FamilyProblem(ProbeSpec probe, IPAddress ip) => (probe.Kind, ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) switch
    {
        (ProbeKind.Arp, true) => $"arp asks for an IPv4 address; {ip} is IPv6: its twin is ndp",
        (ProbeKind.Ddp, true) => $"ddp (PlayStation discovery) is IPv4 broadcast; {ip} is IPv6",
        (ProbeKind.Ndp, false) => $"ndp asks for an IPv6 address; {ip} is IPv4: its twin is arp",
        _ => null,
    };

    /// <summary>Builds the probe for a target. Returns null with a reason when it cannot be built here (no route for ARP, no resolver, the wrong family).</summary>
    public IProbe? Create(IPAddress target, ProbeEnvironment environment, out string? problem)
    {
        problem = FamilyProblem(this, target);
        return problem is null ? Type.Create(this, target, environment, out problem) : null;
    }

    /// <summary>Its row of the probe table.</summary>
    public ProbeType Type => ProbeType.All.First(p => p.Kind == Kind);
}

/// <summary>What a probe's answer (or refusal) says about the target, declared in its row of <see cref="ProbeType.All"/>.</summary>
public enum AnswerProves : byte
{
    /// <summary>An answer or a refusal is proof of receipt (TCP, DNS asked of the target itself).</summary>
    Receipt,
    /// <summary>Proof of receipt once the wire shows the answer came from the target's own MAC: a duplicate address
    /// answers a socket as well as the target (ICMP). A reply on the wire that the socket never got is the monitor's blindness.</summary>
    ReceiptSeenOnWire,
    /// <summary>Proof only from the target's own MAC; another MAC is an address conflict (ARP).</summary>
    ReceiptFromItsMac,
    /// <summary>Nothing about the target: the answer and the silence are the server's (DNS through a resolver that is not the target).</summary>
    ServerOnly,
    /// <summary>Nothing until the target has answered once (console discovery: most hosts are not consoles); then proof of receipt.</summary>
    ReceiptOnceAnswered,
}

/// <summary>
/// One kind of probe: how it is written, parsed and built. <see cref="All"/> is the table the command line, the
/// configuration and the agent read; a new probe is its class behind <see cref="IProbe"/>, a <see cref="ProbeKind"/>
/// value and one row here.
/// </summary>
public sealed class ProbeType
{
    /// <summary>Builds a probe, or returns null with the reason it cannot be built here.</summary>
    public delegate IProbe? Factory(ProbeSpec spec, IPAddress target, ProbeEnvironment environment, out string? problem);

    /// <summary>Parses the text of a probe of this type (its syntax matched), or returns null with the problem.</summary>
    public delegate ProbeSpec? Parser(string text, out string? problem);

    private readonly string _word;
    private readonly bool _argument;
    private readonly Parser _parse;
    private readonly Factory _create;
    private readonly Func<IProbe, IPAddress, AnswerProves> _proves;

    private ProbeType(ProbeKind kind, string syntax, Parser parse, Factory create, Func<IProbe, IPAddress, AnswerProves> proves, params (string Text, string Problem)[] bad)
    {
        Kind = kind;
        Syntax = syntax;
        _word = syntax.Split('[', ':')[0];
        _argument = syntax.Contains(':');
        _parse = parse;
        _create = create;
        _proves = proves;
        BadExamples = bad;
    }

    /// <summary>What an answer of this probe, built for <paramref name="target"/>, proves about it.</summary>
    public AnswerProves Proves(IProbe probe, IPAddress target) => _proves(probe, target);

    /// <summary>Ways to write this probe wrongly, with the problem each is reported with (tests hold the parser to them).</summary>
    public IReadOnlyList<(string Text, string Problem)> BadExamples { get; }

    /// <summary>The kind.</summary>
    public ProbeKind Kind { get; }

    /// <summary>How it is written: "icmp", "tcp:PORT", "dns[:NAME]".</summary>
    public string Syntax { get; }

    /// <summary>Every probe, in the order tried and listed.</summary>
    public static IReadOnlyList<ProbeType> All { get; } =
    [
        Plain(ProbeKind.Icmp, "icmp", (_, target, env) => new IcmpProbe(target, env.Time), AnswerProves.ReceiptSeenOnWire, bad: [("icmp:1", "unknown probe 'icmp:1'")]),
        new(ProbeKind.Arp, "arp", Word(ProbeKind.Arp, "arp"), (ProbeSpec _, IPAddress target, ProbeEnvironment env, out string? problem) =>
        {
            var path = NetworkPath.Find(target, env.Interface, out problem);
            return path is null ? null : new ArpProbe(target, path, env.ExpectedMac, env.Time);
        }, (_, _) => AnswerProves.ReceiptFromItsMac, ("arp:who", "unknown probe 'arp:who'")),
        new(ProbeKind.Ndp, "ndp", Word(ProbeKind.Ndp, "ndp"), (ProbeSpec _, IPAddress target, ProbeEnvironment env, out string? problem) =>
        {
            var path = NetworkPath.Find(target, env.Interface, out problem);
            return path is null ? null : new ArpProbe(target, path, env.ExpectedMac, env.Time);
        }, (_, _) => AnswerProves.ReceiptFromItsMac, ("ndp:ns", "unknown probe 'ndp:ns'")),
        new(ProbeKind.Dns, "dns[:NAME]", Dns(ProbeKind.Dns, "dns"), (ProbeSpec spec, IPAddress _, ProbeEnvironment env, out string? problem) =>
        {
            problem = null;
            var server = env.DnsServer ?? DnsProbe.SystemResolver();
            if (server is not null) return new DnsProbe(spec.Text, server, spec.Query!, time: env.Time);
            problem = "no DNS resolver configured (none in /etc/resolv.conf); give one with --dns-server";
            return null;
        }, (probe, target) => ((DnsProbe)probe).Server.Equals(target) ? AnswerProves.Receipt : AnswerProves.ServerOnly, ("dns:", "'dns:': '' is not a DNS name"), ("dns:a b", "'dns:a b': 'a b' is not a DNS name")),
        Plain(ProbeKind.DnsTarget, "dns@target[:NAME]", (spec, target, env) => new DnsProbe(target.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "dns6" + spec.Text[3..] : spec.Text, target, spec.Query!, time: env.Time), AnswerProves.Receipt, Dns(ProbeKind.DnsTarget, "dns@target"),
            [("dns@target:", "'dns@target:': '' is not a DNS name")]),
        Plain(ProbeKind.Tcp, "tcp:PORT", (spec, target, env) => new TcpProbe(target, spec.Port, env.Time), AnswerProves.Receipt, (string text, out string? problem) =>
        {
            problem = null;
            if (int.TryParse(text[4..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536)
                return new ProbeSpec(ProbeKind.Tcp, $"tcp:{port}", Port: port);
            problem = $"'{Quote.Clip(text)}': the TCP port must be 1–65535";
            return null;
        }, [("tcp", "unknown probe 'tcp'"), ("tcp:0", "'tcp:0': the TCP port must be 1–65535"), ("tcp:http", "'tcp:http': the TCP port must be 1–65535")]),
        Plain(ProbeKind.Ddp, "ddp", (_, target, env) => new DdpProbe(target, env.Time), AnswerProves.ReceiptOnceAnswered, bad: [("ddp:987", "unknown probe 'ddp:987'")]),
    ];

    /// <summary>True when <paramref name="lower"/> is written this type's way ("dns@target" is not "dns:").</summary>
    public bool Matches(string lower) =>
        lower == _word && (!_argument || Syntax.Contains('[')) || _argument && lower.StartsWith(_word + ":", StringComparison.Ordinal);

    /// <summary>Parses text that <see cref="Matches"/>.</summary>
    public ProbeSpec? Parse(string text, out string? problem) => _parse(text, out problem);

    /// <summary>Builds the probe.</summary>
    public IProbe? Create(ProbeSpec spec, IPAddress target, ProbeEnvironment environment, out string? problem) => _create(spec, target, environment, out problem);

    private static ProbeType Plain(ProbeKind kind, string syntax, Func<ProbeSpec, IPAddress, ProbeEnvironment, IProbe> create, AnswerProves proves, Parser? parse = null,
        (string, string)[]? bad = null) =>
        new(kind, syntax, parse ?? Word(kind, syntax), (ProbeSpec spec, IPAddress target, ProbeEnvironment env, out string? problem) =>
        {
            problem = null;
            return create(spec, target, env);
        }, (_, _) => proves, bad ?? []);

    private static Parser Word(ProbeKind kind, string word) => (string _, out string? problem) =>
    {
        problem = null;
        return new ProbeSpec(kind, word);
    };

    /// <summary>"dns", "dns:NAME" (and the same after "dns@target").</summary>
    private static Parser Dns(ProbeKind kind, string word) => (string text, out string? problem) =>
    {
        problem = null;
        if (text.Length == word.Length) return new ProbeSpec(kind, word, Query: ProbeSpec.DefaultQuery);
        var name = text[(word.Length + 1)..];
        if (name.Length is 0 or > 253 || name.Any(c => char.IsWhiteSpace(c) || c == ','))
        {
            problem = $"'{Quote.Clip(text)}': '{Quote.Clip(name)}' is not a DNS name";
            return null;
        }
        return new ProbeSpec(kind, $"{word}:{name}", Query: name);
    };
}

/// <summary>Where probes run from: the interface for ARP, the DNS server, the MAC the target should have.</summary>
public sealed record ProbeEnvironment
{
    /// <summary>Interface to send ARP on; null to pick the one on the target's subnet.</summary>
    public string? Interface { get; init; }
    /// <summary>DNS server for "dns" probes; null for the monitor's own resolver.</summary>
    public IPAddress? DnsServer { get; init; }
    /// <summary>The target's expected MAC, for the ARP changed-address warning.</summary>
    public System.Net.NetworkInformation.PhysicalAddress? ExpectedMac { get; init; }
    /// <summary>The clock that times attempts (round-trip times, deadlines).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
