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

    /// <summary>Parses one probe.</summary>
    public static bool TryParse(string text, out ProbeSpec? spec, out string? problem)
    {
        spec = null;
        problem = null;
        var t = text.Trim().ToLowerInvariant();
        switch (t)
        {
            case "icmp": spec = new ProbeSpec(ProbeKind.Icmp, t); return true;
            case "arp": spec = new ProbeSpec(ProbeKind.Arp, t); return true;
            case "ddp": spec = new ProbeSpec(ProbeKind.Ddp, t); return true;
            case "dns": spec = new ProbeSpec(ProbeKind.Dns, t, Query: DefaultQuery); return true;
            case "dns@target": spec = new ProbeSpec(ProbeKind.DnsTarget, t, Query: DefaultQuery); return true;
        }
        if (t.StartsWith("tcp:", StringComparison.Ordinal))
        {
            if (int.TryParse(t[4..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536)
            {
                spec = new ProbeSpec(ProbeKind.Tcp, $"tcp:{port}", Port: port);
                return true;
            }
            problem = $"'{text}': the TCP port must be 1–65535";
            return false;
        }
        foreach (var (prefix, kind) in new[] { ("dns@target:", ProbeKind.DnsTarget), ("dns:", ProbeKind.Dns) })
        {
            if (!t.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var name = text.Trim()[prefix.Length..];
            if (name.Length is 0 or > 253 || name.Any(c => char.IsWhiteSpace(c) || c == ','))
            {
                problem = $"'{text}': '{name}' is not a DNS name";
                return false;
            }
            spec = new ProbeSpec(kind, prefix + name, Query: name);
            return true;
        }
        problem = $"unknown probe '{text}' (known: icmp, arp, dns[:NAME], dns@target[:NAME], tcp:PORT, ddp)";
        return false;
    }

    /// <summary>Builds the probe for a target. Returns null with a reason when it cannot be built here (no route for ARP, no resolver).</summary>
    public IProbe? Create(IPAddress target, ProbeEnvironment environment, out string? problem)
    {
        problem = null;
        switch (Kind)
        {
            case ProbeKind.Icmp: return new IcmpProbe(target, environment.Time);
            case ProbeKind.Tcp: return new TcpProbe(target, Port, environment.Time);
            case ProbeKind.Ddp: return new DdpProbe(target, environment.Time);
            case ProbeKind.DnsTarget: return new DnsProbe(Text, target, Query!, time: environment.Time);
            case ProbeKind.Dns:
                var server = environment.DnsServer ?? DnsProbe.SystemResolver();
                if (server is null)
                {
                    problem = "no DNS resolver configured (none in /etc/resolv.conf); give one with --dns-server";
                    return null;
                }
                return new DnsProbe(Text, server, Query!, time: environment.Time);
            default:
                var path = NetworkPath.Find(target, environment.Interface, out problem);
                return path is null ? null : new ArpProbe(target, path, environment.ExpectedMac, environment.Time);
        }
    }
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
