using System.CommandLine;
using System.Globalization;
using ReachProbe.Settings;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using ReachProbe.Probes;
using ReachProbe.Wire;

namespace ReachProbe.Cli;

/// <summary><c>reachprobe probe TARGET</c>: what a person runs when the console seems gone. A summary per probe in the manner of fping/mtr.</summary>
internal static class ProbeCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Rounds of <c>probe</c>: 1–100000.</summary>
    public static readonly ValueRange Count = new(1, 100_000, Whole: true);

    /// <summary>Pause between rounds of <c>probe</c>, in seconds.</summary>
    public static readonly ValueRange Interval = new(0, 3600);

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var target = new Argument<string?>("TARGET") { Arity = ArgumentArity.ExactlyOne, Description = "a target", HelpName = "IP" };
        var probes = new Option<string>("--probes")
        {
            Description = $"comma-separated: {ProbeSpec.Syntaxes} (default {ProbeSpec.Defaults})",
            HelpName = "LIST",
        };
        var count = Values.Number("--count", Count, $"rounds (default 5, {Count.Text})");
        var interval = Values.Number("--interval", Interval, $"seconds between rounds (default 1, {Interval.Text})");
        var timeout = Values.Number("--timeout", ProbeRunner.TimeoutSeconds, $"seconds per attempt (default {ProbeSpec.DefaultTimeout.TotalSeconds}, {ProbeRunner.TimeoutSeconds.Text}); probes are never retried");
        var iface = Values.Word("--interface", "interface for ARP (default: the one on the target's subnet)", "NAME");
        var dnsServer = new Option<string?>("--dns-server") { Description = "server for 'dns' (default: the first nameserver in /etc/resolv.conf)", HelpName = "IP" };
        dnsServer.Validators.Add(r => { if (Values.HostIp(r.GetValueOrDefault<string?>() ?? "", "--dns-server") is { } e) r.AddError(e); });
        var mac = Values.HostMac("--mac", "the target's expected MAC (ARP warns when another answers)");
        var json = new Option<bool>("--json") { Description = "JSON instead of the summary" };
        var command = new Command("probe", "probe a host now: ICMP, ARP, DNS, TCP, console discovery") { target, probes, count, interval, timeout, iface, dnsServer, mac, json };
        command.SetAction((parse, cancel) =>
        {
            var text = parse.GetValue(target) ?? throw new UsageException("probe needs a target: reachprobe probe IP");
            if (!Addresses.TryParseHostIp(text, out var ip, out var problem)) throw new UsageException($"'{Quote.Clip(text)}' {problem}");
            var environment = new ProbeEnvironment
            {
                Interface = parse.GetValue(iface),
                DnsServer = parse.GetValue(dnsServer) is { } server ? IPAddress.Parse(server) : null,
                ExpectedMac = parse.GetValue(mac) is { } m ? Addresses.ToPhysicalAddress(m) : null,
            };
            return RunAsync(Addresses.ToIPAddress(ip), parse.GetValue(probes) ?? ProbeSpec.Defaults, (int)(parse.GetValue(count) ?? 5), TimeSpan.FromSeconds(parse.GetValue(interval) ?? 1),
                parse.GetValue(timeout) is { } to ? TimeSpan.FromSeconds(to) : ProbeSpec.DefaultTimeout, environment, parse.GetValue(json), stdout, stderr, cancel);
        });
        return command;
    }

    private static async Task<int> RunAsync(IPAddress target, string probes, int count, TimeSpan interval, TimeSpan timeout, ProbeEnvironment environment, bool json,
        TextWriter stdout, TextWriter stderr, CancellationToken cancellation)
    {
        var specs = ProbeSpec.ParseList(probes, out var problems);
        if (problems.Count > 0) throw new UsageException("--probes: " + string.Join("; ", problems));

        var runner = new ProbeRunner(timeout);
        var slots = new List<Slot>();
        foreach (var spec in specs)
        {
            var probe = spec.Create(target, environment, out var problem);
            slots.Add(new Slot(spec, probe, problem));
        }
        try
        {
            if (!json) stdout.WriteLine(string.Create(Inv, $"reachprobe probe {target}: {count} round(s), {interval.TotalSeconds:0.###} s apart, timeout {timeout.TotalSeconds:0.###} s"));
            for (var round = 0; round < count; round++)
            {
                var started = TimeProvider.System.GetTimestamp();
                var results = await Task.WhenAll(slots.Select(s => s.Probe is null
                    ? Task.FromResult(new ProbeResult(s.Spec.Text, ProbeStatus.Error, TimeSpan.Zero, s.Problem!))
                    : runner.RunAsync(s.Probe, cancellation))).ConfigureAwait(false);
                for (var k = 0; k < slots.Count; k++) slots[k].Results.Add(results[k]);
                var wait = interval - TimeProvider.System.GetElapsedTime(started);
                if (round + 1 < count && wait > TimeSpan.Zero) await Task.Delay(wait, cancellation).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var s in slots) s.Probe?.Dispose();
        }

        if (json) WriteJson(stdout, target, count, slots);
        else foreach (var s in slots) stdout.WriteLine(Summary(s));
        return slots.All(s => s.Results.Any(r => r.ProvesReceipt)) ? CommandLine.Ok : 1;
    }

    private sealed record Slot(ProbeSpec Spec, IProbe? Probe, string? Problem)
    {
        public List<ProbeResult> Results { get; } = [];
    }

    private static string Summary(Slot s)
    {
        var r = s.Results;
        var sent = r.Count;
        var answered = r.Count(x => x.Status == ProbeStatus.Answered);
        var refused = r.Count(x => x.Status == ProbeStatus.Refused);
        var failures = r.Where(x => !x.ProvesReceipt).GroupBy(x => x.Reason).Select(g => g.Count() == 1 ? g.Key : $"{g.Key} ×{g.Count()}");
        var rtts = r.Where(x => x.ProvesReceipt).Select(x => x.Duration.TotalMilliseconds).ToList();
        var parts = new List<string>();
        var failureText = failures.Any() ? " (" + string.Join(", ", failures) + ")" : "";
        if (refused > 0 && answered == 0) parts.Add($"refused — host receives (×{refused})" + (refused < sent ? $", {sent - refused}/{sent} other{failureText}" : ""));
        else parts.Add($"{answered + refused}/{sent} answered{failureText}, loss {100.0 * (sent - answered - refused) / sent:0.#} %");
        if (rtts.Count > 0) parts.Add(string.Create(Inv, $"rtt min/avg/max {rtts.Min():0.000}/{rtts.Average():0.000}/{rtts.Max():0.000} ms"));
        if (r.LastOrDefault(x => x.Mac is not null) is { } arp) parts.Add($"is-at {arp.Mac}");
        if (r.LastOrDefault(x => x.DnsRcode is not null) is { } dns) parts.Add(dns.DnsRcode!);
        if (r.LastOrDefault(x => x.Console is not null)?.Console is { } c)
        {
            parts.Add(c.Status switch { Probes.ConsoleStatus.Awake => "awake", Probes.ConsoleStatus.Standby => "standby", _ => $"status {c.StatusCode}" });
            if (c.HostName is not null) parts.Add($"host-name {c.HostName}");
            if (c.HostType is not null) parts.Add(c.HostType);
            if (c.SystemVersion is not null) parts.Add(c.Firmware is { } fw ? $"firmware {fw} ({c.SystemVersion})" : $"system-version {c.SystemVersion}");
            if (c.RunningAppName is not null) parts.Add($"running {c.RunningAppName}");
        }
        if (s.Spec.Kind == ProbeKind.Dns && r.Count(x => x.Status == ProbeStatus.Timeout) > 0 && answered == 0)
            parts[^1] += " — the resolver does not answer: a resolver problem, not the target";
        foreach (var w in r.Select(x => x.Warning).Where(w => w is not null).Distinct()) parts.Add("WARNING: " + w);
        return $"{s.Spec.Text + ":",-11} " + string.Join(", ", parts);
    }

    private static void WriteJson(TextWriter stdout, IPAddress target, int count, List<Slot> slots)
    {
        var report = new JsonProbeReport(target.ToString(), count, slots.Select(s =>
        {
            var proofs = s.Results.Where(x => x.ProvesReceipt).ToList();
            return new JsonProbe(s.Spec.Text, s.Results.Count, proofs.Count, Math.Round(100.0 * (s.Results.Count - proofs.Count) / s.Results.Count, 1),
                proofs.Count == 0 ? null : new JsonRtt(Math.Round(proofs.Min(x => x.Duration.TotalMilliseconds), 3), Math.Round(proofs.Average(x => x.Duration.TotalMilliseconds), 3),
                    Math.Round(proofs.Max(x => x.Duration.TotalMilliseconds), 3)),
                s.Results.Select(r => new JsonProbeResult(r.Status.ToString().ToLowerInvariant(), Math.Round(r.Duration.TotalMilliseconds, 3), r.Reason, r.Mac, r.DnsRcode, r.ErrorFrom,
                    r.Warning, r.Console is { } c ? new JsonConsole(c.StatusCode, c.Status.ToString().ToLowerInvariant(), c.HostId, c.HostType, c.HostName, c.HostRequestPort,
                        c.SystemVersion, c.Firmware, c.RunningAppTitleId, c.RunningAppName) : null)).ToList());
        }).ToList());
        stdout.WriteLine(JsonSerializer.Serialize(report, ProbeJsonContext.Default.JsonProbeReport));
    }
}

// probe --json's shape (README), one record per object in the order the fields appear; absent optional fields are left out.
internal sealed record JsonProbeReport(string Target, int Rounds, IReadOnlyList<JsonProbe> Probes);

internal sealed record JsonProbe(string Probe, int Sent, int Answered, double LossPercent, JsonRtt? RttMs, IReadOnlyList<JsonProbeResult> Results);

internal sealed record JsonRtt(double Min, double Avg, double Max);

internal sealed record JsonProbeResult(string Status, double Ms, string Reason,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Mac,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), JsonPropertyName("rcode")] string? DnsRcode,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ErrorFrom,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Warning,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonConsole? Console);

internal sealed record JsonConsole(int StatusCode, string Status, string? HostId, string? HostType, string? HostName, string? HostRequestPort, string? SystemVersion,
    string? Firmware, string? RunningAppTitleId, string? RunningAppName);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(JsonProbeReport))]
internal sealed partial class ProbeJsonContext : JsonSerializerContext;
