using System.CommandLine;
using System.Globalization;
using ReachProbe.Settings;
using System.Net;
using System.Text.Json;
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
        var target = new Argument<string?>("TARGET") { Arity = ArgumentArity.ZeroOrOne, Description = "target", HelpName = "IP" };
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
        using var ms = new MemoryStream();
        using (var j = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            j.WriteStartObject();
            j.WriteString("target", target.ToString());
            j.WriteNumber("rounds", count);
            j.WriteStartArray("probes");
            foreach (var s in slots)
            {
                var proofs = s.Results.Where(x => x.ProvesReceipt).ToList();
                j.WriteStartObject();
                j.WriteString("probe", s.Spec.Text);
                j.WriteNumber("sent", s.Results.Count);
                j.WriteNumber("answered", proofs.Count);
                j.WriteNumber("lossPercent", Math.Round(100.0 * (s.Results.Count - proofs.Count) / s.Results.Count, 1));
                if (proofs.Count == 0) j.WriteNull("rttMs");
                else
                {
                    j.WriteStartObject("rttMs");
                    j.WriteNumber("min", Math.Round(proofs.Min(x => x.Duration.TotalMilliseconds), 3));
                    j.WriteNumber("avg", Math.Round(proofs.Average(x => x.Duration.TotalMilliseconds), 3));
                    j.WriteNumber("max", Math.Round(proofs.Max(x => x.Duration.TotalMilliseconds), 3));
                    j.WriteEndObject();
                }
                j.WriteStartArray("results");
                foreach (var r in s.Results)
                {
                    j.WriteStartObject();
                    j.WriteString("status", r.Status.ToString().ToLowerInvariant());
                    j.WriteNumber("ms", Math.Round(r.Duration.TotalMilliseconds, 3));
                    j.WriteString("reason", r.Reason);
                    if (r.Mac is not null) j.WriteString("mac", r.Mac);
                    if (r.DnsRcode is not null) j.WriteString("rcode", r.DnsRcode);
                    if (r.ErrorFrom is not null) j.WriteString("errorFrom", r.ErrorFrom);
                    if (r.Warning is not null) j.WriteString("warning", r.Warning);
                    if (r.Console is { } c)
                    {
                        j.WriteStartObject("console");
                        j.WriteNumber("statusCode", c.StatusCode);
                        j.WriteString("status", c.Status.ToString().ToLowerInvariant());
                        foreach (var (k, v) in new[] { ("hostId", c.HostId), ("hostType", c.HostType), ("hostName", c.HostName), ("hostRequestPort", c.HostRequestPort), ("systemVersion", c.SystemVersion), ("firmware", c.Firmware), ("runningAppTitleId", c.RunningAppTitleId), ("runningAppName", c.RunningAppName) })
                            if (v is null) j.WriteNull(k); else j.WriteString(k, v);
                        j.WriteEndObject();
                    }
                    j.WriteEndObject();
                }
                j.WriteEndArray();
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteEndObject();
        }
        stdout.WriteLine(System.Text.Encoding.UTF8.GetString(ms.ToArray()));
    }
}
