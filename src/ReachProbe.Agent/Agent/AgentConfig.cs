using System.Globalization;
using System.Net;
using System.Text.Json;
using ReachProbe.Probes;
using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Agent;

/// <summary>One monitored host.</summary>
public sealed record TargetConfig
{
    /// <summary>Label used in metrics (default: the IP).</summary>
    public required string Name { get; init; }
    /// <summary>IPv4 address.</summary>
    public required IPAddress Ip { get; init; }
    /// <summary>Expected MAC, or null to learn it.</summary>
    public string? Mac { get; init; }
    /// <summary>Probes to run.</summary>
    public required IReadOnlyList<ProbeSpec> Probes { get; init; }
    /// <summary>Time between probes.</summary>
    public required TimeSpan Interval { get; init; }
    /// <summary>Per-attempt timeout.</summary>
    public required TimeSpan Timeout { get; init; }
    /// <summary>Firmware label, used until the console's discovery answer says otherwise.</summary>
    public string? Firmware { get; init; }
}

/// <summary>
/// The agent's configuration (JSON, comments allowed). Loaded with every problem listed by its JSON path, so a bad file
/// fails at start with all of its mistakes at once. See config/reachprobe.json for every option and its default.
/// </summary>
public sealed record AgentConfig
{
    /// <summary>Default metrics port: outside 9100–9999 (Prometheus's exporter range, fully allocated) and used by no well-known exporter.</summary>
    public const int DefaultPort = 9942;

    /// <summary>Metrics listen address.</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Any, DefaultPort);
    /// <summary>Capture interface; null to pick the one facing the targets.</summary>
    public string? Interface { get; init; }
    /// <summary>Log level name (Trace, Debug, Information, Warning, Error).</summary>
    public string LogLevel { get; init; } = "Information";
    /// <summary>Verdict thresholds.</summary>
    public VerdictOptions Thresholds { get; init; } = new();
    /// <summary>Default history database.</summary>
    public const string DefaultHistory = "/var/lib/reachprobe/history.db";

    /// <summary>Incident history database (SQLite); null to keep no history.</summary>
    public string? History { get; init; } = DefaultHistory;

    /// <summary>Targets; empty means the default gateway.</summary>
    public IReadOnlyList<TargetConfig> Targets { get; init; } = [];

    private static readonly string[] LogLevels = ["Trace", "Debug", "Information", "Warning", "Error", "Critical", "None"];

    /// <summary>Reads and validates a file. Throws <see cref="ConfigException"/> listing every problem.</summary>
    public static AgentConfig Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException([$"{path}: cannot read: {e.Message}"]);
        }
        return Parse(text, path);
    }

    /// <summary>Parses and validates JSON text; <paramref name="source"/> names it in errors.</summary>
    public static AgentConfig Parse(string text, string source)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new ConfigException([$"{source}: not valid JSON: line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {FirstSentence(e.Message)}"]);
        }
        using (doc)
        {
            var problems = new List<string>();
            var config = Read(doc.RootElement, problems);
            if (problems.Count > 0) throw new ConfigException(problems.Select(p => $"{source}: {p}").ToList());
            return config!;
        }
    }

    private static AgentConfig? Read(JsonElement root, List<string> problems)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            problems.Add("$: must be an object");
            return null;
        }
        Known(root, "$", problems, "listen", "interface", "logLevel", "history", "thresholds", "defaults", "targets");
        var config = new AgentConfig();
        if (root.TryGetProperty("listen", out var listen))
        {
            if (String(listen, "$.listen", problems) is { } l)
            {
                if (TryParseEndpoint(l, out var ep)) config = config with { Listen = ep };
                else problems.Add($"$.listen: '{l}' is not ADDRESS:PORT (e.g. 0.0.0.0:{DefaultPort})");
            }
        }
        if (root.TryGetProperty("interface", out var iface) && iface.ValueKind != JsonValueKind.Null)
            config = config with { Interface = String(iface, "$.interface", problems) };
        if (root.TryGetProperty("history", out var history))
            config = config with { History = history.ValueKind == JsonValueKind.Null ? null : String(history, "$.history", problems) };
        if (root.TryGetProperty("logLevel", out var level) && String(level, "$.logLevel", problems) is { } lv)
        {
            var match = LogLevels.FirstOrDefault(x => string.Equals(x, lv, StringComparison.OrdinalIgnoreCase));
            if (match is null) problems.Add($"$.logLevel: '{lv}' is not one of {string.Join(", ", LogLevels)}");
            else config = config with { LogLevel = match };
        }
        var thresholds = new VerdictOptions();
        if (root.TryGetProperty("thresholds", out var th) && Object(th, "$.thresholds", problems))
        {
            Known(th, "$.thresholds", problems, "negativeEvidenceThreshold", "replyTimeoutSeconds", "repeatWindowSeconds", "arpRepeatWindowSeconds", "silenceWindowSeconds");
            if (th.TryGetProperty("negativeEvidenceThreshold", out var n) && Number(n, "$.thresholds.negativeEvidenceThreshold", problems) is { } nv)
                thresholds.NegativeEvidenceThreshold = (int)nv;
            if (Seconds(th, "replyTimeoutSeconds", "$.thresholds", problems) is { } rt) thresholds.ReplyTimeout = rt;
            if (Seconds(th, "repeatWindowSeconds", "$.thresholds", problems) is { } rw) thresholds.RepeatWindow = rw;
            if (Seconds(th, "arpRepeatWindowSeconds", "$.thresholds", problems) is { } aw) thresholds.ArpRepeatWindow = aw;
            if (Seconds(th, "silenceWindowSeconds", "$.thresholds", problems) is { } sw) thresholds.SilenceWindow = sw;
            foreach (var p in thresholds.Validate()) problems.Add($"$.thresholds: {p}");
        }
        config = config with { Thresholds = thresholds };

        var defaultProbes = ProbeSpec.ParseList(ProbeSpec.Defaults, out _);
        var defaultInterval = TimeSpan.FromSeconds(5);
        var defaultTimeout = TimeSpan.FromSeconds(1);
        if (root.TryGetProperty("defaults", out var defaults) && Object(defaults, "$.defaults", problems))
        {
            Known(defaults, "$.defaults", problems, "probes", "intervalSeconds", "timeoutSeconds");
            if (defaults.TryGetProperty("probes", out var dp)) defaultProbes = Probes(dp, "$.defaults.probes", problems) ?? defaultProbes;
            defaultInterval = Seconds(defaults, "intervalSeconds", "$.defaults", problems) ?? defaultInterval;
            defaultTimeout = Seconds(defaults, "timeoutSeconds", "$.defaults", problems) ?? defaultTimeout;
        }

        var targets = new List<TargetConfig>();
        if (root.TryGetProperty("targets", out var ts))
        {
            if (ts.ValueKind != JsonValueKind.Array) problems.Add("$.targets: must be an array");
            else
            {
                var i = 0;
                foreach (var t in ts.EnumerateArray())
                {
                    var path = $"$.targets[{i++}]";
                    if (!Object(t, path, problems)) continue;
                    Known(t, path, problems, "name", "ip", "mac", "probes", "intervalSeconds", "timeoutSeconds", "firmware");
                    IPAddress? ip = null;
                    if (!t.TryGetProperty("ip", out var ipe)) problems.Add($"{path}.ip: required");
                    else if (String(ipe, $"{path}.ip", problems) is { } ipText)
                    {
                        if (Addresses.TryParseIp(ipText, out var ipv) && WirePipeline.IsUnicast(ipv)) ip = IPAddress.Parse(ipText);
                        else problems.Add($"{path}.ip: '{ipText}' is not a unicast IPv4 address");
                    }
                    string? mac = null;
                    if (t.TryGetProperty("mac", out var me) && me.ValueKind != JsonValueKind.Null && String(me, $"{path}.mac", problems) is { } macText)
                    {
                        if (Addresses.TryParseMac(macText, out var mv)) mac = Addresses.Mac(mv);
                        else problems.Add($"{path}.mac: '{macText}' is not a MAC address (aa:bb:cc:dd:ee:ff)");
                    }
                    var name = t.TryGetProperty("name", out var ne) ? String(ne, $"{path}.name", problems) : null;
                    if (name is { Length: 0 }) problems.Add($"{path}.name: must not be empty");
                    var probes = t.TryGetProperty("probes", out var pe) ? Probes(pe, $"{path}.probes", problems) : defaultProbes;
                    var interval = Seconds(t, "intervalSeconds", path, problems) ?? defaultInterval;
                    var timeout = Seconds(t, "timeoutSeconds", path, problems) ?? defaultTimeout;
                    if (interval < TimeSpan.FromSeconds(0.1) || interval > TimeSpan.FromDays(1)) problems.Add($"{path}.intervalSeconds: must be 0.1–86400, not {interval.TotalSeconds.ToString(CultureInfo.InvariantCulture)}");
                    if (timeout < TimeSpan.FromMilliseconds(10) || timeout > interval) problems.Add($"{path}.timeoutSeconds: must be 0.01 s up to the interval ({interval.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s), not {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}");
                    var firmware = t.TryGetProperty("firmware", out var fe) && fe.ValueKind != JsonValueKind.Null ? String(fe, $"{path}.firmware", problems) : null;
                    if (ip is null || probes is null) continue;
                    targets.Add(new TargetConfig { Name = name ?? ip.ToString(), Ip = ip, Mac = mac, Probes = probes, Interval = interval, Timeout = timeout, Firmware = firmware });
                }
                foreach (var dup in targets.GroupBy(t => t.Name).Where(g => g.Count() > 1)) problems.Add($"$.targets: name '{dup.Key}' is used {dup.Count()} times");
                foreach (var dup in targets.GroupBy(t => t.Ip).Where(g => g.Count() > 1)) problems.Add($"$.targets: ip {dup.Key} is listed {dup.Count()} times");
            }
        }
        return config with { Targets = targets };
    }

    private static void Known(JsonElement obj, string path, List<string> problems, params string[] names)
    {
        foreach (var p in obj.EnumerateObject())
            if (!names.Contains(p.Name)) problems.Add($"{path}.{p.Name}: unknown option (known: {string.Join(", ", names)})");
    }

    private static bool Object(JsonElement e, string path, List<string> problems)
    {
        if (e.ValueKind == JsonValueKind.Object) return true;
        problems.Add($"{path}: must be an object");
        return false;
    }

    private static string? String(JsonElement e, string path, List<string> problems)
    {
        if (e.ValueKind == JsonValueKind.String) return e.GetString();
        problems.Add($"{path}: must be a string");
        return null;
    }

    private static double? Number(JsonElement e, string path, List<string> problems)
    {
        if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var d) && double.IsFinite(d)) return d;
        problems.Add($"{path}: must be a number");
        return null;
    }

    private static TimeSpan? Seconds(JsonElement obj, string name, string path, List<string> problems)
    {
        if (!obj.TryGetProperty(name, out var e)) return null;
        if (Number(e, $"{path}.{name}", problems) is not { } s) return null;
        if (s is < 0 or > 86400)
        {
            problems.Add($"{path}.{name}: must be 0–86400 seconds, not {s.ToString(CultureInfo.InvariantCulture)}");
            return null;
        }
        return TimeSpan.FromSeconds(s);
    }

    private static IReadOnlyList<ProbeSpec>? Probes(JsonElement e, string path, List<string> problems)
    {
        if (e.ValueKind != JsonValueKind.Array || e.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
        {
            problems.Add($"{path}: must be an array of strings such as [\"icmp\", \"arp\", \"tcp:9295\"]");
            return null;
        }
        var list = ProbeSpec.ParseList(string.Join(",", e.EnumerateArray().Select(x => x.GetString())), out var errors);
        foreach (var err in errors) problems.Add($"{path}: {err}");
        return errors.Count == 0 ? list : null;
    }

    /// <summary>Parses "ADDRESS:PORT" (IPv4 or [IPv6]).</summary>
    public static bool TryParseEndpoint(string text, out IPEndPoint endpoint) =>
        IPEndPoint.TryParse(text, out endpoint!) && endpoint.Port is > 0 and < 65536 && text.Contains(':');

    private static string FirstSentence(string message)
    {
        foreach (var marker in new[] { " Path:", " LineNumber:" })
        {
            var cut = message.IndexOf(marker, StringComparison.Ordinal);
            if (cut > 0) message = message[..cut];
        }
        return message.Trim();
    }
}

/// <summary>A configuration with problems; <see cref="Problems"/> lists each with its JSON path.</summary>
public sealed class ConfigException(IReadOnlyList<string> problems) : Exception(string.Join("\n", problems))
{
    /// <summary>Every problem.</summary>
    public IReadOnlyList<string> Problems { get; } = problems;
}
