using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ReachProbe.Agent;
using ReachProbe.Discovery;
using ReachProbe.Settings;
using ReachProbe.Wire;

namespace ReachProbe.Cli;

/// <summary>
/// <c>reachprobe discover</c>: lists the devices of the segment from what they say on it — passively, nothing sent —
/// and can write an agent configuration watching the consoles it found, by MAC.
/// </summary>
internal static class DiscoverCommand
{
    /// <summary>How long it listens, in seconds.</summary>
    public static readonly ValueRange Seconds = new(1, 3600);

    /// <summary>The widest subnet --sweep-prefix allows: a /16 is 65,534 addresses, four minutes at the pace.</summary>
    public static readonly ValueRange SweepPrefix = new(16, 30, Whole: true);

    /// <summary>Listened for unless --seconds says otherwise: most consoles and TVs announce themselves within half a minute.</summary>
    public const int DefaultSeconds = 30;

    /// <summary>Kinds written to --config-out: the consoles.</summary>
    public static readonly string[] ConsoleKinds = ["playstation", "xbox", "nintendo"];

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var iface = Values.Word("--interface", "interface to listen on (default: the default route's, else the one LAN interface)", "NAME");
        var seconds = Values.Number("--seconds", Seconds, $"how long to listen (default {DefaultSeconds}, {Seconds.Text})");
        var json = new Option<bool>("--json") { Description = "a JSON array of the devices instead of the table" };
        var configOut = Values.Path("--config-out", "also write an agent configuration watching the consoles found, by MAC (never over an existing file)");
        var active = new Option<bool>("--active") { Description = "also ask, once each: a PlayStation (DDP) and an SSDP search, an mDNS service query, and an ARP sweep of the interface's own subnet at arp-scan's pace" };
        var sweepPrefix = Values.Number("--sweep-prefix", SweepPrefix, $"with --active: sweep a subnet as wide as /N (default /{ActiveSearch.DefaultSweepPrefix}; wider ones are refused)");
        var command = new Command("discover", "lists the devices on the segment (MAC, addresses, names, vendor, kind) from what they say; --active also asks")
            { iface, seconds, json, configOut, active, sweepPrefix };
        command.SetAction((parse, cancel) => RunAsync(parse.GetValue(iface), parse.GetValue(seconds) ?? DefaultSeconds, parse.GetValue(json), parse.GetValue(configOut),
            parse.GetValue(active), (int)(parse.GetValue(sweepPrefix) ?? ActiveSearch.DefaultSweepPrefix), stdout, stderr, cancel));
        return command;
    }

    private static async Task<int> RunAsync(string? iface, double seconds, bool json, string? configOut, bool active, int sweepPrefix, TextWriter stdout, TextWriter stderr,
        CancellationToken cancel)
    {
        // Refused before listening: half a minute of listening must not end in "cannot write".
        if (configOut is not null && (File.Exists(configOut) || Directory.Exists(configOut)))
        {
            stderr.WriteLine($"reachprobe: --config-out {configOut}: already exists; discover never overwrites a file (give another name)");
            return CommandLine.Usage;
        }
        if (CommandLine.LacksCaptureCapabilities("discover", "listen", null, stderr)) return CommandLine.Usage;
        iface ??= AgentHost.CaptureInterface(new AgentConfig());
        if (iface is null)
        {
            stderr.WriteLine("reachprobe: discover: no default route and not just one LAN interface: give --interface NAME");
            return CommandLine.Usage;
        }
        LocalLink? link = null;
        if (active && (link = LocalLink.Of(iface, out var linkProblem)) is null)
        {
            stderr.WriteLine($"reachprobe: discover --active: {linkProblem}");
            return CommandLine.Usage;
        }
        var oui = OuiRegistry.Load();
        var gateway = AgentHost.DefaultGateway() is { AddressFamily: System.Net.Sockets.AddressFamily.InterNetwork } g ? Addresses.ToUInt(g) : 0;
        // Its own frames (our searches, our ARP) are not a device of the segment.
        var catalog = new DeviceCatalog(oui, gateway, ownMac: SysNet.Mac(iface) ?? 0);
        using var capture = new LiveCapture(iface, DeviceCatalog.CaptureFilter);
        try
        {
            capture.Open();
        }
        catch (CaptureException e)
        {
            stderr.WriteLine($"reachprobe: {e.Message}");
            return CommandLine.Usage;
        }
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"discover: listening on {iface} for {seconds:0.###} s ({(active ? "asking once, politely" : "nothing is sent")}){(oui is null ? $"; no vendor names: {OuiRegistry.DebianPath} is missing (apt-get install ieee-data)" : "")}"));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        ActiveSearch? search = null;
        Task sweep = Task.CompletedTask;
        using var stopSweep = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        if (link is not null)
        {
            search = new ActiveSearch(link);
            search.SendSearches();
            // The catalog is the loop's: the sweep asks it only through a snapshot of the addresses heard, taken under the lock.
            sweep = Task.Run(() => search.SweepAsync(ip => { lock (catalog) return catalog.HasAddress(ip); }, sweepPrefix, stopSweep.Token), CancellationToken.None);
        }
        var limit = TimeSpan.FromSeconds(seconds);
        var nextProgress = TimeSpan.FromSeconds(5);
        while (watch.Elapsed < limit && !cancel.IsCancellationRequested)
        {
            lock (catalog)
                while (capture.TryRead(out var frame)) catalog.Observe(capture.Link, frame.Data, frame.Time);
            if (capture.Error is { } error)
            {
                stderr.WriteLine($"reachprobe: the capture on {iface} failed: {error}; what was heard until then follows");
                break;
            }
            if (watch.Elapsed >= nextProgress)
            {
                stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"discover: {Math.Max(0, (limit - watch.Elapsed).TotalSeconds):0} s left, {catalog.Devices.Count} device(s)"));
                nextProgress += TimeSpan.FromSeconds(5);
            }
            using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            wake.CancelAfter(TimeSpan.FromMilliseconds(200));
            try
            {
                await capture.WaitToReadAsync(wake.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        await stopSweep.CancelAsync().ConfigureAwait(false);
        try
        {
            await sweep.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        lock (catalog)
            while (capture.TryRead(out var last)) catalog.Observe(capture.Link, last.Data, last.Time);
        if (search is not null)
        {
            var sent = search.Sent;
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"discover: asked {string.Join(", ", sent.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key} ×{s.Value.Frames}"))}: {sent.Values.Sum(s => s.Frames)} frames, {sent.Values.Sum(s => s.Bytes):N0} bytes"));
            if (search.Problem is { } problem) stderr.WriteLine($"discover: {problem}");
        }
        var devices = catalog.Devices.OrderBy(d => d.Addresses.Count == 0 ? uint.MaxValue : d.Addresses.Min).ThenBy(d => d.Mac).ToList();
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"discover: {devices.Count} device(s) heard on {iface} in {watch.Elapsed.TotalSeconds:0} s{(catalog.NotKept > 0 ? $" ({catalog.NotKept} more not kept: at most {DeviceCatalog.DefaultMaxDevices})" : "")}"));
        var output = new OutputWriter(stdout);
        output.Write(json ? Json(devices) : Table(devices));
        if (configOut is null) return CommandLine.Ok;
        var consoles = devices.Where(d => ConsoleKinds.Contains(d.Kind)).ToList();
        if (consoles.Count == 0)
        {
            stderr.WriteLine($"reachprobe: --config-out {configOut}: no console heard ({string.Join(", ", ConsoleKinds)}): nothing written; a console in standby answers only when asked");
            return 1;
        }
        try
        {
            using var file = new FileStream(configOut, FileMode.CreateNew, FileAccess.Write);
            file.Write(Encoding.UTF8.GetBytes(Config(consoles)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"reachprobe: --config-out {configOut}: cannot write it: {e.Message}");
            return CommandLine.Usage;
        }
        stderr.WriteLine($"discover: wrote {configOut}: {consoles.Count} console(s) watched by MAC; check it with: reachprobe run --config {configOut} --check");
        return CommandLine.Ok;
    }

    private static string Ip(uint ip) => Addresses.Ip(ip);

    /// <summary>One line a device: MAC, addresses, kind, vendor, names, model and firmware, how it was learned.</summary>
    public static string Table(IReadOnlyList<Device> devices)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{"mac",-17}  {"address",-15}  {"kind",-11}  {"vendor",-24}  {"name",-20}  {"model / firmware",-20}  learned from");
        foreach (var d in devices)
        {
            var vendor = d.LocallyAdministered ? "(random MAC)" : d.Vendor ?? "";
            var model = string.Join(" ", new[] { d.Model, d.Firmware, d.Standby == true ? "standby" : null }.OfType<string>());
            sb.AppendLine($"{Addresses.Mac(d.Mac),-17}  {string.Join(",", d.Addresses.Select(Ip).Concat(d.Addresses6.Select(a => Addresses.Ip(a)))),-15}  {d.Kind,-11}  {Clip(vendor, 24),-24}  {Clip(string.Join(", ", d.Names), 20),-20}  {Clip(model, 20),-20}  {string.Join(",", d.LearnedFrom)}");
        }
        return sb.ToString();
    }

    private static string Clip(string s, int width) => s.Length <= width ? s : s[..(width - 1)] + "…";

    /// <summary>The devices as a JSON array (the issue's shape: mac, addresses with their family, names, vendor, kind, model, firmware, standby, learnedFrom, firstSeen, lastSeen).</summary>
    public static string Json(IReadOnlyList<Device> devices)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartArray();
            foreach (var d in devices)
            {
                w.WriteStartObject();
                w.WriteString("mac", Addresses.Mac(d.Mac));
                w.WriteStartArray("addresses");
                foreach (var a in d.Addresses)
                {
                    w.WriteStartObject();
                    w.WriteString("address", Ip(a));
                    w.WriteString("family", "ipv4");
                    w.WriteEndObject();
                }
                foreach (var a in d.Addresses6)
                {
                    w.WriteStartObject();
                    w.WriteString("address", Addresses.Ip(a));
                    w.WriteString("family", "ipv6");
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("names");
                foreach (var n in d.Names) w.WriteStringValue(n);
                w.WriteEndArray();
                if (d.Vendor is { } v) w.WriteString("vendor", v);
                else w.WriteNull("vendor");
                w.WriteBoolean("randomMac", d.LocallyAdministered);
                w.WriteString("kind", d.Kind);
                if (d.Model is { } m) w.WriteString("model", m);
                else w.WriteNull("model");
                if (d.Firmware is { } f) w.WriteString("firmware", f);
                else w.WriteNull("firmware");
                if (d.Standby is { } s) w.WriteBoolean("standby", s);
                else w.WriteNull("standby");
                if (d.VendorClass is { } vc) w.WriteString("dhcpVendorClass", vc);
                w.WriteStartArray("services");
                foreach (var service in d.Services) w.WriteStringValue(service);
                w.WriteEndArray();
                w.WriteStartArray("learnedFrom");
                foreach (var l in d.LearnedFrom) w.WriteStringValue(l);
                w.WriteEndArray();
                w.WriteString("firstSeen", new DateTime(d.FirstSeen, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                w.WriteString("lastSeen", new DateTime(d.LastSeen, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + Environment.NewLine;
    }

    /// <summary>
    /// An agent configuration watching <paramref name="consoles"/> by MAC (their addresses followed), named by what
    /// they call themselves, labelled discovered="true", kind and model.
    /// </summary>
    public static string Config(IReadOnlyList<Device> consoles)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("targets");
            var used = new HashSet<string>(StringComparer.Ordinal);
            foreach (var d in consoles)
            {
                var mac = Addresses.Mac(d.Mac);
                var name = d.Names.FirstOrDefault() is { } n && used.Add(n) ? n : mac;
                used.Add(name);
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteString("mac", mac);
                w.WriteStartObject("labels");
                w.WriteString("discovered", "true");
                w.WriteString("kind", d.Kind);
                if (d.Model is { } model) w.WriteString("model", model);
                w.WriteEndObject();
                if (d.Firmware is { } firmware) w.WriteString("firmware", firmware);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + Environment.NewLine;
    }
}
