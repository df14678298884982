using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using ReachProbe.Settings;
using ReachProbe.Probes;
using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Agent;

/// <summary>One monitored host.</summary>
public sealed record TargetConfig
{
    /// <summary>Label used in metrics (default: the IP, else the MAC).</summary>
    public required string Name { get; init; }
    /// <summary>IPv4 address; with a <see cref="Mac"/>, where it starts (null: learned from the wire).</summary>
    public IPAddress? Ip { get; init; }
    /// <summary>
    /// Its MAC, or null to learn it. A target with a MAC is a device: its address is followed wherever DHCP moves it
    /// (<see cref="WirePipeline.Follow"/>).
    /// </summary>
    public string? Mac { get; init; }

    /// <summary>
    /// The interface it is watched on (an agent on several interfaces), or null: the one of the agent's interfaces whose
    /// subnet holds its address, else the first (<see cref="AgentHost.Assign"/>).
    /// </summary>
    public string? Interface { get; init; }

    /// <summary>
    /// Its host name (ps5.lan), or null: resolved at start (one that does not resolve stops the agent) and again on its
    /// record's TTL, the target moving with its address (<see cref="HostResolver"/>).
    /// </summary>
    public string? Host { get; init; }

    /// <summary>How it is named in a sentence: its name, with its address (or host name, or MAC) when that is not its name.</summary>
    public string Who => ((Ip is null ? null : AgentConfig.AddressText(Ip)) ?? Host ?? Mac) is { } id && id != Name ? $"{Name} ({id})" : Name;
    /// <summary>Probes to run.</summary>
    public required IReadOnlyList<ProbeSpec> Probes { get; init; }

    /// <summary>
    /// Whether <see cref="Probes"/> was given for it (the configuration's <c>probes</c>, or <c>--probes</c>) rather than
    /// the defaults. A target whose address is learned (a host name, a MAC) takes its probes, given or not, in the
    /// family of each address it is at (<see cref="ProbeSpec.ForFamily"/>: ndp for arp, no ddp over IPv6; arp for ndp
    /// over IPv4): a device watched in both families has "icmp, arp" at its IPv4 address and "icmp6, ndp" at its IPv6 one.
    /// </summary>
    public bool ProbesGiven { get; init; }

    /// <summary>The target at <paramref name="ip"/> (an address learned): its probes in that address's family.</summary>
    public TargetConfig At(IPAddress ip) => this with { Ip = ip, Probes = ProbeSpec.ForFamily(Probes, ip) };
    /// <summary>Time between probes.</summary>
    public required TimeSpan Interval { get; init; }
    /// <summary>Per-attempt timeout.</summary>
    public required TimeSpan Timeout { get; init; }
    /// <summary>Firmware label, used until the console's discovery answer says otherwise.</summary>
    public string? Firmware { get; init; }
    /// <summary>The person's own labels ("room": "living"), shown on <c>reachprobe_target_info</c>.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
}

/// <summary>The agent's own discovery (<c>"discover"</c>): devices learned from the wire all the time, and those of some kinds watched.</summary>
public sealed record DiscoverConfig
{
    /// <summary>Kinds a device can be told to be.</summary>
    public static readonly string[] AllKinds = ["playstation", "xbox", "nintendo", "printer", "tv", "router", "unknown"];

    /// <summary>The kinds to watch once found.</summary>
    public IReadOnlyList<string> Kinds { get; init; } = ["playstation"];

    /// <summary>Watch what is found (as targets by MAC, labelled discovered="true"); else only count it.</summary>
    public bool Watch { get; init; } = true;

    /// <summary>How often a PlayStation discovery (DDP) search is sent.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The most targets discovery adds: a LAN full of forged announcements adds no more.</summary>
    public int MaxTargets { get; init; } = 64;

    /// <summary>The range of <c>discover.intervalSeconds</c>.</summary>
    public static readonly ValueRange IntervalSeconds = new(1, 86400);

    /// <summary>The range of <c>discover.maxTargets</c>.</summary>
    public static readonly ValueRange MaxTargetsRange = new(1, 1024, Whole: true);
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
    /// <summary>Capture interface (the first of <see cref="Interfaces"/> when there are several); null to pick the one facing the targets.</summary>
    public string? Interface { get; init; }

    /// <summary>
    /// Every interface the agent captures on (<c>"interfaces"</c>, and any a target names), the first being
    /// <see cref="Interface"/>; empty when it is one, given or picked. One capture, view and filter each; each target is
    /// watched on one of them.
    /// </summary>
    public IReadOnlyList<string> Interfaces { get; init; } = [];
    /// <summary>Log level name (Trace, Debug, Information, Warning, Error).</summary>
    public string LogLevel { get; init; } = "Information";
    /// <summary>Log line format: "plain" (for a person) or "json" (one object a line; see <see cref="Agent.LogFormat"/>).</summary>
    public string LogFormat { get; init; } = "plain";
    /// <summary>The capture's view of the segment: null to detect it, else as configured (<c>capture.view</c>).</summary>
    public CaptureView? View { get; init; }

    /// <summary>Verdict thresholds.</summary>
    public VerdictOptions Thresholds { get; init; } = new();
    /// <summary>Default history database.</summary>
    public static string DefaultHistory => ReachProbe.History.HistoryStore.DefaultPath;

    /// <summary>The DNS server that resolves targets' host names and answers "dns" probes; null for the system's (/etc/resolv.conf).</summary>
    public IPAddress? Resolver { get; init; }

    /// <summary>Incident history database: an SQLite file, or a PostgreSQL URI (<c>postgresql://…</c>); null to keep no history.</summary>
    public string? History { get; init; } = DefaultHistory;

    /// <summary>Who this agent is in a shared history (<c>agent.name</c>, by default the host name; <c>agent.site</c>).</summary>
    public ReachProbe.History.HistoryAgent Agent { get; init; } = ReachProbe.History.HistoryAgent.Default;

    /// <summary>The history as it may be shown: the file, a URI without its password, or "off".</summary>
    public string HistoryText => History is null ? "off"
        : ReachProbe.History.PostgresLocation.IsUri(History) ? (TryPostgres(History, out var location) ? location.Display : "postgresql://…") : History;

    private static bool TryPostgres(string uri, out ReachProbe.History.PostgresLocation location)
    {
        try
        {
            location = ReachProbe.History.PostgresLocation.Parse(uri);
            return true;
        }
        catch (ReachProbe.History.HistoryException)
        {
            location = null!;
            return false;
        }
    }

    /// <summary>The most targets this agent takes, from the file and the command line alike.</summary>
    public int MaxTargets { get; init; } = DefaultMaxTargets;

    /// <summary>Targets; empty means the default gateway.</summary>
    public IReadOnlyList<TargetConfig> Targets { get; init; } = [];

    /// <summary>The agent's own discovery, or null when it does not discover.</summary>
    public DiscoverConfig? Discover { get; init; }

    /// <summary>The probes of a target that names none (<c>defaults.probes</c>), and of discovered ones.</summary>
    public IReadOnlyList<ProbeSpec> DefaultProbes { get; init; } = ProbeSpec.ParseList(ProbeSpec.Defaults, out _);

    /// <summary>The interval and timeout of a target that names none (<c>defaults</c>), and of discovered ones.</summary>
    public TimeSpan DefaultInterval { get; init; } = ProbeSpec.DefaultInterval;

    /// <inheritdoc cref="DefaultInterval"/>
    public TimeSpan DefaultTimeout { get; init; } = ProbeSpec.DefaultTimeout;

    /// <summary>A probe interval, in seconds.</summary>
    public static readonly ValueRange IntervalSeconds = new(0.1, 86400);

    /// <summary>Most targets one agent watches unless <c>maxTargets</c> says otherwise: each costs about 100 KB (trackers' tables, verdict, series).</summary>
    public const int DefaultMaxTargets = 4096;

    /// <summary>The range of <c>maxTargets</c>.</summary>
    public static readonly ValueRange MaxTargetsRange = new(1, 100_000, Whole: true);

    /// <summary>Largest configuration file read.</summary>
    public const int MaxFileBytes = 1 << 20;

    /// <summary>Environment variables with this prefix override the file: REACHPROBE__thresholds__silenceWindowSeconds=60.</summary>
    public const string EnvironmentPrefix = "REACHPROBE__";

    private static readonly string[] LogLevels = ["Trace", "Debug", "Information", "Warning", "Error", "Critical", "None"];

    /// <summary>
    /// Reads and validates a file, then the <see cref="EnvironmentPrefix"/> variables over it. Only a regular file of at
    /// most <see cref="MaxFileBytes"/> is read. Throws <see cref="ConfigException"/> listing every problem.
    /// </summary>
    public static AgentConfig Load(string path, IDictionary<string, string?>? environment = null)
    {
        string text;
        try
        {
            // Checked before opening: opening a FIFO blocks until a writer comes, and /dev/zero never ends. Pipes and
            // devices report a size of 0, as does an empty file, which is no configuration either.
            var info = new FileInfo(path);
            if (Directory.Exists(path)) throw new ConfigException([$"{path}: a directory, not a configuration file"]);
            if (!info.Exists) throw new ConfigException([$"{path}: cannot read: no such file"]);
            if (info.Length == 0) throw new ConfigException([$"{path}: empty, or not a regular file (a pipe or a device); give a JSON configuration file"]);
            if (info.Length > MaxFileBytes) throw new ConfigException([$"{path}: {info.Length} bytes, more than {MaxFileBytes / 1024} KiB; not a ReachProbe configuration"]);
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var buffer = new byte[MaxFileBytes + 1];
            var length = 0;
            int n;
            while (length < buffer.Length && (n = stream.Read(buffer, length, buffer.Length - length)) > 0) length += n;
            if (length > MaxFileBytes) throw new ConfigException([$"{path}: more than {MaxFileBytes / 1024} KiB; not a ReachProbe configuration"]);
            // A byte-order mark (Windows editors write one) is not part of the JSON.
            var bom = length >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF ? 3 : 0;
            text = System.Text.Encoding.UTF8.GetString(buffer, bom, length - bom);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException([$"{path}: cannot read: {e.Message}"]);
        }
        return Parse(text, path, environment ?? ProcessEnvironment());
    }

    /// <summary>
    /// The defaults with the <see cref="EnvironmentPrefix"/> variables over them: the configuration of an agent started
    /// without a file, which the environment still configures (a container's way).
    /// </summary>
    public static AgentConfig FromEnvironment(IDictionary<string, string?>? environment = null) => Parse("{}", "the environment", environment ?? ProcessEnvironment());

    private static Dictionary<string, string?> ProcessEnvironment() => Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
        .ToDictionary(e => (string)e.Key, e => (string?)e.Value);

    /// <summary>
    /// Parses and validates JSON text (comments and trailing commas allowed) with <paramref name="environment"/>'s
    /// <see cref="EnvironmentPrefix"/> variables over it; <paramref name="source"/> names it in errors.
    /// </summary>
    public static AgentConfig Parse(string text, string source, IDictionary<string, string?>? environment = null)
    {
        text = text.TrimStart('\uFEFF'); // a byte-order mark is not JSON
        bool historyNull;
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            // "history": null means no history; the configuration providers cannot tell a null from an absent key.
            historyNull = doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.EnumerateObject().Any(p => string.Equals(p.Name, "history", StringComparison.OrdinalIgnoreCase) && p.Value.ValueKind == JsonValueKind.Null);
        }
        catch (JsonException e)
        {
            throw new ConfigException([$"{source}: not valid JSON: line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {FirstSentence(e.Message)}"]);
        }
        var builder = new ConfigurationBuilder().AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)));
        // REACHPROBE__listen and reachprobe__listen, or REACHPROBE__a__b and REACHPROBE__a:b, name one setting: which
        // one wins would be a guess, so two of them are refused, both named.
        var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var named = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in (environment ?? new Dictionary<string, string?>()).Where(e => e.Key.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase)).OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var key = name[EnvironmentPrefix.Length..].Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal);
            if (named.TryGetValue(key, out var first))
                throw new ConfigException([$"{source} (with {EnvironmentPrefix}…): {Quote.Clip(first)} and {Quote.Clip(name)} both set {Path(key)}: keep one"]);
            named[key] = name;
            overrides[key] = value;
        }
        builder.AddInMemoryCollection(overrides);
        IConfigurationRoot root;
        try
        {
            root = builder.Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException)
        {
            throw new ConfigException([$"{source}: {e.Message}"]);
        }
        var problems = new List<string>();
        var config = Read(root, problems);
        if (historyNull && root.GetSection("history").Value is null) config = config with { History = null };
        if (problems.Count > 0) throw new ConfigException(problems.Select(p => overrides.Count > 0 && overrides.Keys.Any(k => p.StartsWith(Path(k), StringComparison.OrdinalIgnoreCase)) ? $"{source} (with {EnvironmentPrefix}…): {p}" : $"{source}: {p}").ToList());
        return config;
    }

    /// <summary>"targets:0:ip" as the JSON path "$.targets[0].ip", the way errors name it.</summary>
    private static string Path(string key)
    {
        var sb = new System.Text.StringBuilder("$");
        foreach (var part in key.Split(':'))
            sb.Append(part.Length > 0 && part.All(char.IsAsciiDigit) ? $"[{part}]" : $".{part}");
        return sb.ToString();
    }

    private static string Path(IConfigurationSection section) => Path(section.Path);

    /// <summary>What is wrong with a history location (a PostgreSQL URI that does not parse), or null.</summary>
    public static string? HistoryProblem(string? history)
    {
        if (history is null || !ReachProbe.History.PostgresLocation.IsUri(history)) return null;
        try
        {
            ReachProbe.History.PostgresLocation.Parse(history);
            return null;
        }
        catch (ReachProbe.History.HistoryException e)
        {
            return e.Message;
        }
    }

    private static AgentConfig Read(IConfiguration root, List<string> problems)
    {
        Known(root, "$", problems, "listen", "interface", "interfaces", "logLevel", "logFormat", "history", "agent", "maxTargets", "resolver", "capture", "thresholds", "defaults", "discover", "targets");
        var maxTargets = Number(root, "maxTargets", MaxTargetsRange, problems) is { } mt ? (int)mt : DefaultMaxTargets;
        var targetCount = root.GetSection("targets").GetChildren().Count();
        if (targetCount > maxTargets)
        {
            // Refused before anything is read of them: ten thousand targets must not cost gigabytes to say no.
            problems.Add($"$.targets: {targetCount} targets, more than maxTargets ({maxTargets}); raise \"maxTargets\" if this machine can carry them");
            return new AgentConfig();
        }
        var config = new AgentConfig { MaxTargets = maxTargets };
        if (Value(root, "listen") is { } listen)
        {
            if (TryParseEndpoint(listen, out var ep)) config = config with { Listen = ep };
            else problems.Add($"$.listen: '{Quote.Clip(listen)}' is not ADDRESS:PORT (e.g. 0.0.0.0:{DefaultPort})");
        }
        if (Value(root, "interface") is { } iface) config = config with { Interface = iface };
        var interfaces = new List<string>();
        foreach (var i in Array(root, "interfaces", problems))
        {
            if (i.Value is not { Length: > 0 } name || !IsInterfaceName(name)) problems.Add($"{Path(i)}: '{Quote.Clip(i.Value ?? "")}' is not an interface name (such as br0)");
            else if (interfaces.Contains(name)) problems.Add($"{Path(i)}: '{name}' is listed twice");
            else interfaces.Add(name);
        }
        if (interfaces.Count > 0 && config.Interface is not null) problems.Add("$: give \"interface\" or \"interfaces\", not both");
        else if (interfaces.Count > MaxInterfaces) problems.Add($"$.interfaces: {interfaces.Count} interfaces, more than {MaxInterfaces}");
        else if (interfaces.Count > 0) config = config with { Interface = interfaces[0], Interfaces = interfaces };
        if (Value(root, "resolver") is { } resolver)
        {
            // A local resolver (127.0.0.53, systemd-resolved's) is a resolver too: loopback is allowed here.
            if (Addresses.TryParseIp(resolver, out var rv) && rv != 0 && rv < 0xE000_0000) config = config with { Resolver = Addresses.ToIPAddress(rv) };
            else problems.Add($"$.resolver: '{Quote.Clip(resolver)}' is not the IPv4 address of a DNS server (such as 192.168.1.1, or 127.0.0.53 for systemd-resolved)");
        }
        var history = root.GetSection("history");
        if (history.Exists()) config = config with { History = string.IsNullOrEmpty(history.Value) || history.Value == "none" ? null : history.Value };
        if (HistoryProblem(config.History) is { } hp) problems.Add($"$.history: {hp}");
        if (Object(root, "agent", problems) is { } agent)
        {
            Known(agent, "$.agent", problems, "name", "site");
            var name = Value(agent, "name");
            var site = Value(agent, "site");
            foreach (var (key, value) in new[] { ("name", name), ("site", site) })
                if (value is not null && (value.Length is 0 or > 128 || value.Any(char.IsControl)))
                    problems.Add($"$.agent.{key}: '{Quote.Clip(value)}' is not a name (1 to 128 characters, no control characters)");
            config = config with { Agent = new ReachProbe.History.HistoryAgent(name ?? ReachProbe.History.HistoryAgent.Default.Name, site) };
        }
        if (Value(root, "logLevel") is { } lv)
        {
            var match = LogLevels.FirstOrDefault(x => string.Equals(x, lv, StringComparison.OrdinalIgnoreCase));
            if (match is null) problems.Add($"$.logLevel: '{Quote.Clip(lv)}' is not one of {string.Join(", ", LogLevels)}");
            else config = config with { LogLevel = match };
        }
        if (Value(root, "logFormat") is { } lf)
        {
            var match = ReachProbe.Agent.LogFormat.Names.FirstOrDefault(x => string.Equals(x, lf, StringComparison.OrdinalIgnoreCase));
            if (match is null) problems.Add($"$.logFormat: '{Quote.Clip(lf)}' is not one of {string.Join(", ", ReachProbe.Agent.LogFormat.Names)}");
            else config = config with { LogFormat = match };
        }
        if (Object(root, "capture", problems) is { } capture)
        {
            Known(capture, "$.capture", problems, "view");
            switch (Value(capture, "view")?.ToLowerInvariant())
            {
                case null or "auto": break;
                case "full": config = config with { View = CaptureView.Full }; break;
                case "switched": config = config with { View = CaptureView.Switched }; break;
                case { } other: problems.Add($"$.capture.view: '{Quote.Clip(other)}' is not one of auto, full, switched"); break;
            }
        }
        var thresholds = new VerdictOptions();
        if (Object(root, "thresholds", problems) is { } th)
        {
            Known(th, "$.thresholds", problems, VerdictSetting.All.Select(v => v.Key).ToArray());
            foreach (var setting in VerdictSetting.All)
                if (Number(th, setting.Key, setting.Range, problems) is { } v) setting.Set(thresholds, v);
            // Ranges were checked above (a value out of range was not set): what is left are the rules between settings.
            foreach (var p in thresholds.Validate()) problems.Add($"$.thresholds.{p}");
        }
        config = config with { Thresholds = thresholds };

        var defaultProbes = ProbeSpec.ParseList(ProbeSpec.Defaults, out _);
        var defaultInterval = ProbeSpec.DefaultInterval;
        var defaultTimeout = ProbeSpec.DefaultTimeout;
        if (Object(root, "defaults", problems) is { } defaults)
        {
            Known(defaults, "$.defaults", problems, "probes", "intervalSeconds", "timeoutSeconds");
            defaultProbes = Probes(defaults.GetSection("probes"), problems) ?? defaultProbes;
            if (Number(defaults, "intervalSeconds", IntervalSeconds, problems) is { } di) defaultInterval = TimeSpan.FromSeconds(di);
            if (Number(defaults, "timeoutSeconds", ProbeRunner.TimeoutSeconds, problems) is { } dt) defaultTimeout = TimeSpan.FromSeconds(dt);
        }

        config = config with { DefaultProbes = defaultProbes, DefaultInterval = defaultInterval, DefaultTimeout = defaultTimeout < defaultInterval ? defaultTimeout : defaultInterval };
        if (Object(root, "discover", problems) is { } discover)
        {
            Known(discover, "$.discover", problems, "kinds", "watch", "intervalSeconds", "maxTargets");
            var d = new DiscoverConfig();
            var kinds = discover.GetSection("kinds");
            if (kinds.Exists())
            {
                var items = kinds.GetChildren().Select(k => k.Value).ToList();
                if (kinds.Value is { Length: > 0 } || items.Count == 0 || items.Any(k => k is null))
                    problems.Add($"$.discover.kinds: must be a non-empty array of kinds ({string.Join(", ", DiscoverConfig.AllKinds)})");
                else if (items.FirstOrDefault(k => !DiscoverConfig.AllKinds.Contains(k, StringComparer.Ordinal)) is { } bad)
                    problems.Add($"$.discover.kinds: '{Quote.Clip(bad!)}' is not one of {string.Join(", ", DiscoverConfig.AllKinds)}");
                else d = d with { Kinds = items.Distinct().ToList()! };
            }
            if (Value(discover, "watch") is { } watch)
            {
                if (bool.TryParse(watch, out var w)) d = d with { Watch = w };
                else problems.Add($"$.discover.watch: must be true or false, not '{Quote.Clip(watch)}'");
            }
            if (Number(discover, "intervalSeconds", DiscoverConfig.IntervalSeconds, problems) is { } di) d = d with { Interval = TimeSpan.FromSeconds(di) };
            if (Number(discover, "maxTargets", DiscoverConfig.MaxTargetsRange, problems) is { } dm) d = d with { MaxTargets = (int)dm };
            config = config with { Discover = d };
        }

        var targets = new List<TargetConfig>();
        foreach (var t in Array(root, "targets", problems))
        {
            var path = Path(t);
            if (t.Value is not null || !t.GetChildren().Any())
            {
                problems.Add($"{path}: must be an object");
                continue;
            }
            Known(t, path, problems, "name", "ip", "mac", "host", "interface", "probes", "intervalSeconds", "timeoutSeconds", "firmware", "labels");
            var targetInterface = Value(t, "interface");
            if (targetInterface is not null && !IsInterfaceName(targetInterface))
            {
                problems.Add($"{path}.interface: '{Quote.Clip(targetInterface)}' is not an interface name (such as br0)");
                targetInterface = null;
            }
            else if (targetInterface is not null && (config.Interfaces.Count > 0 ? !config.Interfaces.Contains(targetInterface) : config.Interface is not null && config.Interface != targetInterface))
            {
                problems.Add($"{path}.interface: '{targetInterface}' is not one of the agent's interfaces ({string.Join(", ", config.Interfaces.Count > 0 ? config.Interfaces : [config.Interface!])}): list it in \"interfaces\"");
                targetInterface = null;
            }
            IPAddress? ip = null;
            string? host = null;
            if (Value(t, "host") is { } hostText)
            {
                if (Addresses.TryParseHostName(hostText, out var problem)) host = hostText.TrimEnd('.').ToLowerInvariant();
                else problems.Add($"{path}.host: '{Quote.Clip(hostText)}' {problem}");
                if (Value(t, "ip") is not null) problems.Add($"{path}: give its \"host\" or its \"ip\", not both (a host name's address is what it resolves to)");
            }
            if (Value(t, "ip") is not { } ipText)
            {
                if (Value(t, "mac") is null && Value(t, "host") is null)
                    problems.Add($"{path}: give its \"ip\", its \"host\" name, or its \"mac\" (its address is then learned from the wire and followed)");
            }
            else if (HostAddress(ipText, out var ipProblem) is { } parsed) ip = parsed;
            else problems.Add($"{path}.ip: '{Quote.Clip(ipText)}' {ipProblem}");
            string? mac = null;
            if (Value(t, "mac") is { } macText)
            {
                if (Addresses.TryParseHostMac(macText, out var mv, out var problem)) mac = Addresses.Mac(mv);
                else problems.Add($"{path}.mac: '{Quote.Clip(macText)}' {problem}");
            }
            var nameSection = t.GetSection("name");
            var name = nameSection.Value;
            if (nameSection.Exists() && string.IsNullOrEmpty(name)) problems.Add($"{path}.name: must not be empty");
            else if (name is { Length: > MaxNameLength }) problems.Add($"{path}.name: longer than {MaxNameLength} characters: '{Quote.Clip(name)}'");
            var probes = t.GetSection("probes").Exists() ? Probes(t.GetSection("probes"), problems) : defaultProbes;
            if (ip is not null && probes is not null)
                probes = t.GetSection("probes").Exists() ? FamilyProblems(probes, ip, $"{path}.probes", problems) : ProbeSpec.ForFamily(probes, ip);
            var interval = Number(t, "intervalSeconds", IntervalSeconds, problems) is { } i ? TimeSpan.FromSeconds(i) : defaultInterval;
            var timeout = Number(t, "timeoutSeconds", ProbeRunner.TimeoutSeconds, problems) is { } to ? TimeSpan.FromSeconds(to) : defaultTimeout;
            if (timeout > interval) problems.Add($"{path}.timeoutSeconds: must be 0.01 s up to the interval ({interval.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s), not {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}");
            var firmware = Value(t, "firmware");
            if (firmware is { Length: > MaxNameLength }) problems.Add($"{path}.firmware: longer than {MaxNameLength} characters: '{Quote.Clip(firmware)}'");
            var labels = Labels(t, path, problems);
            if (ip is null && mac is null && host is null || probes is null) continue;
            targets.Add(new TargetConfig { Host = host, Name = string.IsNullOrEmpty(name) ? Value(t, "ip") ?? host ?? mac! : name, Ip = ip, Mac = mac, Interface = targetInterface, Probes = probes, ProbesGiven = t.GetSection("probes").Exists(), Interval = interval, Timeout = timeout, Firmware = firmware, Labels = labels });
        }
        // Targets that name an interface when the agent names none: those are the agent's, in the order first named.
        if (config.Interfaces.Count == 0 && config.Interface is null && targets.Select(t => t.Interface).OfType<string>().Distinct().ToList() is { Count: > 0 } named)
            config = named.Count == 1 ? config with { Interface = named[0] } : config with { Interface = named[0], Interfaces = named };
        var labelNames = targets.SelectMany(t => t.Labels.Keys).Distinct().Count();
        if (labelNames > MaxLabelNames) problems.Add($"$.targets: {labelNames} different label names, more than {MaxLabelNames}: each is a label of reachprobe_target_info");
        foreach (var dup in targets.GroupBy(t => t.Name).Where(g => g.Count() > 1)) problems.Add($"$.targets: name '{Quote.Clip(dup.Key)}' is used {dup.Count()} times");
        foreach (var dup in targets.Where(t => t.Ip is not null).GroupBy(t => t.Ip).Where(g => g.Count() > 1)) problems.Add($"$.targets: ip {dup.Key} is listed {dup.Count()} times");
        foreach (var dup in targets.Where(t => t.Host is not null).GroupBy(t => t.Host).Where(g => g.Count() > 1)) problems.Add($"$.targets: host {dup.Key} is listed {dup.Count()} times");
        foreach (var dup in targets.Where(t => t.Mac is not null).GroupBy(t => t.Mac).Where(g => g.Count() > 1)) problems.Add($"$.targets: mac {dup.Key} is listed {dup.Count()} times: one device is one target");
        return config with { Targets = targets };
    }

    /// <summary>Longest target name or firmware label: they become metric labels on every scrape.</summary>
    public const int MaxNameLength = 128;

    /// <summary>Most labels on one target, and different label names over all targets.</summary>
    public const int MaxLabels = 16, MaxLabelNames = 32;

    /// <summary>Most interfaces one agent captures on.</summary>
    public const int MaxInterfaces = 16;

    /// <summary>True for a name Linux could give an interface: 1–15 characters, no '/', whitespace or ':'.</summary>
    public static bool IsInterfaceName(string name) => name.Length is > 0 and <= 15 && name != "." && name != ".." && !name.Any(c => c == '/' || c == ':' || char.IsWhiteSpace(c) || char.IsControl(c));

    /// <summary>Label names the agent's own series use (or Prometheus adds): a target's labels may not take them.</summary>
    public static readonly string[] ReservedLabels = ["target", "ip", "mac", "host_type", "firmware", "instance", "job", "le", "quantile"];

    /// <summary>A target's "labels": an object of string values whose names Prometheus takes (and none of ours).</summary>
    private static Dictionary<string, string> Labels(IConfigurationSection target, string path, List<string> problems)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var section = target.GetSection("labels");
        if (!section.Exists()) return labels;
        if (section.Value is not null)
        {
            problems.Add($"{path}.labels: must be an object of \"name\": \"value\" pairs, e.g. {{ \"room\": \"living\" }}");
            return labels;
        }
        var children = section.GetChildren().ToList();
        if (children.Count > MaxLabels)
        {
            problems.Add($"{path}.labels: {children.Count} labels, more than {MaxLabels}");
            return labels;
        }
        foreach (var label in children)
        {
            if (LabelProblem(label.Key, label.Value) is { } problem) problems.Add($"{path}.labels.{Quote.Clip(label.Key)}: {problem}");
            else labels[label.Key] = label.Value!;
        }
        return labels;
    }

    /// <summary>What is wrong with a label of a target (a name Prometheus refuses, one of ours, an empty or long value), or null.</summary>
    public static string? LabelProblem(string name, string? value)
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(name, "^[a-zA-Z_][a-zA-Z0-9_]*$") || name.StartsWith("__", StringComparison.Ordinal))
            return "not a Prometheus label name (letters, digits and _, not starting with a digit or __)";
        if (ReservedLabels.Contains(name, StringComparer.Ordinal)) return $"'{name}' is ReachProbe's own label (reserved: {string.Join(", ", ReservedLabels)})";
        if (value is null) return "must be a string";
        if (value.Length == 0 || value.Length > MaxNameLength) return $"must be 1–{MaxNameLength} characters: '{Quote.Clip(value)}'";
        return null;
    }

    /// <summary>Every label name the targets use, sorted: the extra labels of <c>reachprobe_target_info</c>.</summary>
    /// <remarks>With discovery watching, <c>discovered</c> is one of them: the targets it adds carry discovered="true".</remarks>
    public IReadOnlyList<string> LabelNames => Targets.SelectMany(t => t.Labels.Keys).Concat(Discover is { Watch: true } ? [DiscoveredLabel] : [])
        .Distinct().Order(StringComparer.Ordinal).ToList();

    /// <summary>The label of the targets discovery adds.</summary>
    public const string DiscoveredLabel = "discovered";

    private static void Known(IConfiguration section, string path, List<string> problems, params string[] names)
    {
        foreach (var child in section.GetChildren())
            if (!names.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
                problems.Add($"{path}.{Quote.Clip(child.Key)}: unknown option (known: {string.Join(", ", names)})");
    }

    /// <summary>A scalar's text, or null when absent or JSON null.</summary>
    private static string? Value(IConfiguration section, string key) => section.GetSection(key) is { } s && s.Exists() && !string.IsNullOrEmpty(s.Value) ? s.Value : null;

    private static IConfigurationSection? Object(IConfiguration section, string key, List<string> problems)
    {
        var s = section.GetSection(key);
        if (!s.Exists()) return null;
        if (s.Value is { Length: > 0 })
        {
            problems.Add($"{Path(s)}: must be an object");
            return null;
        }
        return s;
    }

    private static IEnumerable<IConfigurationSection> Array(IConfiguration section, string key, List<string> problems)
    {
        var s = section.GetSection(key);
        if (!s.Exists()) return [];
        var items = s.GetChildren().ToList();
        if (s.Value is { Length: > 0 } || items.Any(i => !int.TryParse(i.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            problems.Add($"{Path(s)}: must be an array");
            return [];
        }
        return items.OrderBy(i => int.Parse(i.Key, CultureInfo.InvariantCulture));
    }

    private static double? Number(IConfiguration section, string key, ValueRange range, List<string> problems)
    {
        var s = section.GetSection(key);
        if (!s.Exists() || s.Value is null) return null;
        if (range.TryParse(s.Value, out var v)) return v;
        problems.Add($"{Path(s)}: must be {range.Noun} ({range.Text}), not {(double.TryParse(s.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? Quote.Clip(s.Value) : $"'{Quote.Clip(s.Value)}'")}");
        return null;
    }

    private static IReadOnlyList<ProbeSpec>? Probes(IConfigurationSection section, List<string> problems)
    {
        if (!section.Exists()) return null;
        var items = section.GetChildren().ToList();
        if (section.Value is { Length: > 0 } || items.Any(i => i.Value is null || !int.TryParse(i.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            problems.Add($"{Path(section)}: must be an array of strings such as [\"icmp\", \"arp\", \"tcp:9295\"]");
            return null;
        }
        var list = ProbeSpec.ParseList(string.Join(",", items.OrderBy(i => int.Parse(i.Key, CultureInfo.InvariantCulture)).Select(i => i.Value)), out var errors);
        foreach (var err in errors) problems.Add($"{Path(section)}: {err}");
        return errors.Count == 0 ? list : null;
    }

    /// <summary>
    /// A target's address, IPv4 or IPv6 (<see cref="Addresses.TryParseHostAddress"/>), with a link-local address's zone
    /// resolved to its interface (<see cref="IPAddress.ScopeId"/>): a link-local address means nothing without one, and a
    /// zone must name an interface of this machine. Null otherwise, with <paramref name="problem"/> completing "'TEXT' …".
    /// </summary>
    public static IPAddress? HostAddress(string text, out string problem, string sysfs = SysNet.ClassNet)
    {
        if (!Addresses.TryParseHostAddress(text, out var key, out var zone, out problem)) return null;
        var ip = Addresses.ToIPAddress(key);
        if (!ip.IsIPv6LinkLocal) return ip;
        if (zone is null)
        {
            problem = $"is link-local: name its interface, as in {ip}%br0";
            return null;
        }
        if (!System.Text.RegularExpressions.Regex.IsMatch(zone, "^[A-Za-z0-9_.:@-]{1,15}$") || SysNet.IfIndex(zone, sysfs) is not { } index
            || !long.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out var scope))
        {
            problem = $"has a zone (%{Quote.Clip(zone)}) that names no interface of this machine";
            return null;
        }
        ip.ScopeId = scope;
        return ip;
    }

    /// <summary>An address as a person writes it: a link-local one with its interface's name as its zone (fe80::27%br0).</summary>
    public static string AddressText(IPAddress ip)
    {
        if (!ip.IsIPv6LinkLocal || ip.ScopeId == 0) return ip.ToString();
        var bare = Addresses.Ip(Addresses.ToKey(ip));
        try
        {
            var nic = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.GetIPProperties().GetIPv6Properties()?.Index == ip.ScopeId);
            return nic is null ? ip.ToString() : $"{bare}%{nic.Name}";
        }
        catch (System.Net.NetworkInformation.NetworkInformationException)
        {
            return ip.ToString();
        }
    }

    /// <summary>Each probe of a target's own list that its address's family cannot take, said; the list, or null if any.</summary>
    private static IReadOnlyList<ProbeSpec>? FamilyProblems(IReadOnlyList<ProbeSpec> probes, IPAddress ip, string where, List<string> problems)
    {
        var bad = probes.Select(p => ProbeSpec.FamilyProblem(p, ip)).OfType<string>().ToList();
        foreach (var b in bad) problems.Add($"{where}: {b}");
        return bad.Count == 0 ? probes : null;
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
