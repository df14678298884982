using System.CommandLine;
using System.Globalization;
using ReachProbe.Settings;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using ReachProbe.Probes;
using ReachProbe.Wire;
using ReachProbe.Agent;
using ReachProbe.Verdict;

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
        var target = new Argument<string?>("TARGET") { Arity = ArgumentArity.ExactlyOne, Description = "a target: its IPv4 or IPv6 address (fe80::…%IFACE for a link-local one)", HelpName = "IP" };
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
        var watch = Values.Number("--watch", Watch, $"seconds to keep capturing after the last round, for the verdict (default {DefaultWatch.TotalSeconds}, {Watch.Text}); less when the host is up");
        var view = Values.OneOf("--view", "what the capture sees: full (inline bridge, mirror port) or switched (a plain switch port or Wi-Fi); default auto: full on a bridge, else detected",
            "auto", "full", "switched");
        var command = new Command("probe", "probe a host now and give a verdict: up, deaf, down, unresponsive or no such host") { target, probes, count, interval, timeout, iface, dnsServer, mac, watch, view, json };
        command.SetAction((parse, cancel) =>
        {
            var text = parse.GetValue(target) ?? throw new UsageException("probe needs a target: reachprobe probe IP");
            if (ReachProbe.Agent.AgentConfig.HostAddress(text, out var problem) is not { } ip) throw new UsageException($"'{Quote.Clip(text)}' {problem}");
            var environment = new ProbeEnvironment
            {
                Interface = parse.GetValue(iface),
                DnsServer = parse.GetValue(dnsServer) is { } server ? IPAddress.Parse(server) : null,
                ExpectedMac = parse.GetValue(mac) is { } m ? Addresses.ToPhysicalAddress(m) : null,
            };
            CaptureView? forced = parse.GetValue(view) switch { "full" => CaptureView.Full, "switched" => CaptureView.Switched, _ => null };
            var options = new Options(parse.GetValue(probes) ?? ProbeSpec.Defaults, parse.GetValue(probes) is not null, (int)(parse.GetValue(count) ?? 5),
                TimeSpan.FromSeconds(parse.GetValue(interval) ?? 1), parse.GetValue(timeout) is { } to ? TimeSpan.FromSeconds(to) : ProbeSpec.DefaultTimeout,
                parse.GetValue(watch) is { } w ? TimeSpan.FromSeconds(w) : DefaultWatch, forced, parse.GetValue(json));
            return RunAsync(ip, options, environment, stdout, cancel);
        });
        return command;
    }

    /// <summary>How long <c>probe</c> keeps capturing after its last round, in seconds.</summary>
    public static readonly ValueRange Watch = new(0, 600);

    /// <summary>The default of <c>--watch</c>: time for a deaf host to show a frame, and for a silent one to be confirmed.</summary>
    public static readonly TimeSpan DefaultWatch = TimeSpan.FromSeconds(3);

    private sealed record Options(string Probes, bool ProbesGiven, int Count, TimeSpan Interval, TimeSpan Timeout, TimeSpan Watch, CaptureView? View, bool Json);

    private static async Task<int> RunAsync(IPAddress target, Options o, ProbeEnvironment environment, TextWriter stdout, CancellationToken cancellation)
    {
        var specs = ProbeSpec.ParseList(o.Probes, out var problems);
        if (problems.Count > 0) throw new UsageException("--probes: " + string.Join("; ", problems));
        // The defaults in the target's family (ndp for arp over IPv6); a list given is held to it.
        if (!o.ProbesGiven) specs = ProbeSpec.ForFamily(specs, target);
        else if (specs.Select(s => ProbeSpec.FamilyProblem(s, target)).OfType<string>().FirstOrDefault() is { } wrong) throw new UsageException("--probes: " + wrong);

        var runner = new ProbeRunner(o.Timeout);
        var slots = new List<Slot>();
        foreach (var spec in specs)
        {
            var probe = spec.Create(target, environment, out var problem);
            var scheduled = probe is null ? null : ScheduledProbe.Of(target.ToString(), spec, probe, target, o.Interval, o.Timeout);
            // Console discovery asked for by name counts like any probe; as a default it counts only where a console answers.
            if (scheduled is { Proves: AnswerProves.ReceiptOnceAnswered } && o.ProbesGiven) scheduled = scheduled with { Proves = AnswerProves.Receipt };
            slots.Add(new Slot(spec, probe, scheduled, problem));
        }
        // The same engine as 'run' watches while the probes go out: the capture on the interface that reaches the target.
        ProbeWatch? watch = null;
        string? noCapture = null;
        if (NetworkPath.Find(target, environment.Interface, out var pathProblem) is not { } path) noCapture = pathProblem;
        else
        {
            watch = ProbeWatch.Start(target, environment.ExpectedMac is { } m ? string.Join(':', m.GetAddressBytes().Select(b => b.ToString("x2", Inv))) : null, path, o.View, o.Interval, o.Timeout);
            if (!await watch.WaitForCaptureAsync(TimeSpan.FromSeconds(3), cancellation).ConfigureAwait(false))
            {
                noCapture = watch.CaptureFailure ?? $"the capture on {path.Interface} did not open within 3 s";
                watch.Dispose();
                watch = null;
            }
        }
        ProbeVerdict verdict;
        try
        {
            if (!o.Json)
                stdout.WriteLine(string.Create(Inv, $"reachprobe probe {target}: {o.Count} round(s), {o.Interval.TotalSeconds:0.###} s apart, timeout {o.Timeout.TotalSeconds:0.###} s; ")
                    + (watch is null ? $"no capture ({noCapture})" : $"capturing on {watch.Interface}{(watch.View is { } v ? $" ({v.ToString().ToLowerInvariant()} view)" : "")}"));
            for (var round = 0; round < o.Count; round++)
            {
                var started = TimeProvider.System.GetTimestamp();
                var at = TimeProvider.System.GetUtcNow();
                var results = await Task.WhenAll(slots.Select(s => s.Probe is null
                    ? Task.FromResult(new ProbeResult(s.Spec.Text, ProbeStatus.Error, TimeSpan.Zero, s.Problem!))
                    : runner.RunAsync(s.Probe, cancellation))).ConfigureAwait(false);
                for (var k = 0; k < slots.Count; k++)
                {
                    slots[k].Results.Add(results[k]);
                    if (slots[k].Scheduled is { } sp && (sp.Proves != AnswerProves.ReceiptOnceAnswered || results[k].ProvesReceipt)) watch?.Record(sp, results[k], at);
                }
                var wait = o.Interval - TimeProvider.System.GetElapsedTime(started);
                if (round + 1 < o.Count && wait > TimeSpan.Zero) await Task.Delay(wait, cancellation).ConfigureAwait(false);
            }
            var counted = slots.Where(Counts).SelectMany(s => s.Results).ToList();
            var attempts = string.Join(", ", slots.Where(Counts).Select(s => (s.Spec.Text, Unanswered: s.Results.Count(r => r.Status is ProbeStatus.Timeout or ProbeStatus.Unreachable)))
                .Where(a => a.Unanswered > 0).Select(a => $"{a.Text} ×{a.Unanswered}"));
            verdict = watch is not null
                ? await watch.FinishAsync(o.Watch, attempts, cancellation).ConfigureAwait(false)
                : ProbeVerdict.Decide(TargetState.Unknown, null, new EvidenceCounts(), false, noCapture, false, counted.Count(r => r.ProvesReceipt), counted.Count, attempts);
        }
        finally
        {
            watch?.Dispose();
            foreach (var s in slots) s.Probe?.Dispose();
        }
        // Up: which probes it answered, in the summary's own terms, rather than the engine's evidence names.
        if (verdict.Outcome == ProbeOutcome.Up && watch is not null)
            verdict = verdict with { Why = "answered " + string.Join(", ", slots.Where(Counts).Where(s => s.Results.Any(r => r.ProvesReceipt))
                .Select(s => $"{s.Spec.Text} {s.Results.Count(r => r.ProvesReceipt)}/{s.Results.Count}")) + ", its replies seen on the wire" };
        // Up, yet a probe it answered nothing (ARP yes, ICMP no: an input filter): said, not hidden.
        if (verdict.Outcome == ProbeOutcome.Up && slots.Where(Counts).Where(s => s.Results.All(r => !r.ProvesReceipt)).Select(s => s.Spec.Text).ToList() is { Count: > 0 } silent)
            verdict = verdict with { Why = verdict.Why + $"; but {string.Join(", ", silent)} answered nothing (degraded)" };

        // An IPv6 target's evidence in neighbour discovery's words.
        verdict = verdict with { Why = VerdictWords.InFamily(verdict.Why, Addresses.ToKey(target)) };
        if (o.Json) WriteJson(stdout, target, o.Count, slots, verdict, watch?.Interface);
        else
        {
            foreach (var s in slots) stdout.WriteLine(Summary(s));
            stdout.WriteLine(verdict.Line);
        }
        return verdict.ExitCode;
    }

    /// <summary>A probe that counts for the verdict: every one but console discovery that no console answered (unless asked for by name).</summary>
    private static bool Counts(Slot s) => s.Scheduled is not { Proves: AnswerProves.ReceiptOnceAnswered } || s.Results.Any(r => r.ProvesReceipt);

    private sealed record Slot(ProbeSpec Spec, IProbe? Probe, ScheduledProbe? Scheduled, string? Problem)
    {
        public List<ProbeResult> Results { get; } = [];
    }

    private static string Summary(Slot s)
    {
        var r = s.Results;
        if (!Counts(s) && r.All(x => x.Status is ProbeStatus.Timeout or ProbeStatus.Unreachable))
            return $"{s.Spec.Text + ":",-11} no answer: not a PlayStation (or discovery is off); not counted (--probes ddp counts it)";
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

    private static void WriteJson(TextWriter stdout, IPAddress target, int count, List<Slot> slots, ProbeVerdict verdict, string? capture)
    {
        var report = new JsonProbeReport(target.ToString(), count, new JsonVerdict(verdict.Name, verdict.Why, verdict.ExitCode, capture, verdict.Evidence), slots.Select(s =>
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
internal sealed record JsonProbeReport(string Target, int Rounds, JsonVerdict Verdict, IReadOnlyList<JsonProbe> Probes);

internal sealed record JsonVerdict(string State, string Why, int ExitCode, string? Capture, IReadOnlyDictionary<string, long> Evidence);

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
