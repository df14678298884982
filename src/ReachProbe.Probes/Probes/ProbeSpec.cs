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
    /// <summary>DNS query to the monitor's resolver (or a configured server).</summary>
    Dns,
    /// <summary>DNS query to the target itself.</summary>
    DnsTarget,
    /// <summary>TCP connect.</summary>
    Tcp,
    /// <summary>PlayStation device discovery.</summary>
    Ddp,
}

/// <summary>One probe as written on the command line or in the config: icmp, arp, dns[:NAME], dns@target[:NAME], tcp:PORT, ddp.</summary>
/// <param name="Kind">Kind.</param>
/// <param name="Text">As written (normalised), used as the probe's name.</param>
/// <param name="Port">TCP port.</param>
/// <param name="Query">DNS name asked for.</param>
public sealed record ProbeSpec(ProbeKind Kind, string Text, int Port = 0, string? Query = null)
{
    /// <summary>The default set: ICMP, ARP and console discovery.</summary>
    public const string Defaults = "icmp,arp,ddp";

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
                if (list.Any(s => s.Text == spec!.Text)) errors.Add($"'{raw}' is listed twice");
                else list.Add(spec!);
            }
            else
            {
                errors.Add(problem!);
            }
        }
        if (list.Count == 0 && errors.Count == 0) errors.Add("no probe given");
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
        problem = $"unknown probe '{text}' (known: {string.Join(", ", ProbeType.All.Select(p => p.Syntax))})";
        return false;
    }

    /// <summary>Builds the probe for a target. Returns null with a reason when it cannot be built here (no route for ARP, no resolver).</summary>
    public IProbe? Create(IPAddress target, ProbeEnvironment environment, out string? problem) =>
        ProbeType.All.First(p => p.Kind == Kind).Create(this, target, environment, out problem);
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

    private ProbeType(ProbeKind kind, string syntax, Parser parse, Factory create)
    {
        Kind = kind;
        Syntax = syntax;
        _word = syntax.Split('[', ':')[0];
        _argument = syntax.Contains(':');
        _parse = parse;
        _create = create;
    }

    /// <summary>The kind.</summary>
    public ProbeKind Kind { get; }

    /// <summary>How it is written: "icmp", "tcp:PORT", "dns[:NAME]".</summary>
    public string Syntax { get; }

    /// <summary>Every probe, in the order tried and listed.</summary>
    public static IReadOnlyList<ProbeType> All { get; } =
    [
        Plain(ProbeKind.Icmp, "icmp", (_, target, env) => new IcmpProbe(target, env.Time)),
        new(ProbeKind.Arp, "arp", Word(ProbeKind.Arp, "arp"), (ProbeSpec _, IPAddress target, ProbeEnvironment env, out string? problem) =>
        {
            var path = NetworkPath.Find(target, env.Interface, out problem);
            return path is null ? null : new ArpProbe(target, path, env.ExpectedMac, env.Time);
        }),
        new(ProbeKind.Dns, "dns[:NAME]", Dns(ProbeKind.Dns, "dns"), (ProbeSpec spec, IPAddress _, ProbeEnvironment env, out string? problem) =>
        {
            problem = null;
            var server = env.DnsServer ?? DnsProbe.SystemResolver();
            if (server is not null) return new DnsProbe(spec.Text, server, spec.Query!, time: env.Time);
            problem = "no DNS resolver configured (none in /etc/resolv.conf); give one with --dns-server";
            return null;
        }),
        Plain(ProbeKind.DnsTarget, "dns@target[:NAME]", (spec, target, env) => new DnsProbe(spec.Text, target, spec.Query!, time: env.Time), Dns(ProbeKind.DnsTarget, "dns@target")),
        Plain(ProbeKind.Tcp, "tcp:PORT", (spec, target, env) => new TcpProbe(target, spec.Port, env.Time), (string text, out string? problem) =>
        {
            problem = null;
            if (int.TryParse(text[4..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536)
                return new ProbeSpec(ProbeKind.Tcp, $"tcp:{port}", Port: port);
            problem = $"'{text}': the TCP port must be 1–65535";
            return null;
        }),
        Plain(ProbeKind.Ddp, "ddp", (_, target, env) => new DdpProbe(target, env.Time)),
    ];

    /// <summary>True when <paramref name="lower"/> is written this type's way ("dns@target" is not "dns:").</summary>
    public bool Matches(string lower) =>
        lower == _word && (!_argument || Syntax.Contains('[')) || _argument && lower.StartsWith(_word + ":", StringComparison.Ordinal);

    /// <summary>Parses text that <see cref="Matches"/>.</summary>
    public ProbeSpec? Parse(string text, out string? problem) => _parse(text, out problem);

    /// <summary>Builds the probe.</summary>
    public IProbe? Create(ProbeSpec spec, IPAddress target, ProbeEnvironment environment, out string? problem) => _create(spec, target, environment, out problem);

    private static ProbeType Plain(ProbeKind kind, string syntax, Func<ProbeSpec, IPAddress, ProbeEnvironment, IProbe> create, Parser? parse = null) =>
        new(kind, syntax, parse ?? Word(kind, syntax), (ProbeSpec spec, IPAddress target, ProbeEnvironment env, out string? problem) =>
        {
            problem = null;
            return create(spec, target, env);
        });

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
            problem = $"'{text}': '{name}' is not a DNS name";
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
