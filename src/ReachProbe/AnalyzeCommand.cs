using System.CommandLine;
using ReachProbe.Settings;
using ReachProbe.Analysis;
using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Cli;

/// <summary><c>reachprobe analyze FILE</c>: the field report's Wireshark session, automated.</summary>
internal static class AnalyzeCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var file = new Argument<string?>("FILE") { Arity = ArgumentArity.ExactlyOne, Description = "a capture file" };
        var targets = new Option<List<string>>("--target")
        {
            HelpName = "IP[=MAC]",
            Description = "a host to analyse, IPv4 or IPv6 (repeatable); default: every host on the captured segment that others pinged, ARPed or solicited for",
        };
        var json = new Option<bool>("--json") { Description = "JSON instead of the timeline (shape in README)" };
        var labels = new Option<List<string>>("--label")
        {
            HelpName = "NAME=VALUE",
            Description = "a label of the analysed targets (repeatable), as a configuration's \"labels\": on each target in --json, and with --import in the history (report --by label:NAME)",
        };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "no progress on stderr (progress is also off when stderr is not a terminal)" };
        var import = new Option<bool>("--import") { Description = "add the capture's incidents to the history database" };
        var db = Values.Path("--db", $"history database for --import (default $REACHPROBE_DB, else {ReachProbe.History.HistoryStore.DefaultPathText})");
        var firmware = Values.Word("--firmware", "with --import: the firmware the target ran at the time", "LABEL");
        var view = Values.OneOf("--view", "what the capture saw: full (inline bridge, mirror port, router) or switched (a plain switch port or Wi-Fi: only broadcasts and the capturing host's own traffic); default auto: detected from the frames",
            "auto", "full", "switched");
        var thresholds = VerdictSetting.All.Select(v => (Setting: v, Option: Values.Number(v.Flag, v.Range, $"{v.Help} (default {v.DefaultText}, {v.Range.Text})"))).ToList();
        var command = new Command("analyze", "analyse a pcap/pcapng capture; print an incident timeline") { file, targets, view, json, labels, quiet, import, db, firmware };
        foreach (var t in thresholds) command.Options.Add(t.Option);
        command.SetAction(async (parse, _) =>
        {
            var verdict = new VerdictOptions();
            foreach (var (setting, option) in thresholds)
                if (parse.GetValue(option) is { } value) setting.Set(verdict, value);
            if (verdict.Validate(v => v.Flag) is [var problem, ..]) throw new UsageException(problem);
            Dictionary<UInt128, ulong>? hosts = null;
            foreach (var t in parse.GetValue(targets) ?? [])
            {
                hosts ??= [];
                var (ip, mac) = ParseTarget(t);
                hosts[ip] = mac;
            }
            var given = ParseLabels(parse.GetValue(labels) ?? []);
            var path = parse.GetValue(file) ?? throw new UsageException("analyze needs a capture file: reachprobe analyze FILE");
            CaptureView? forced = parse.GetValue(view) switch { "full" => CaptureView.Full, "switched" => CaptureView.Switched, _ => null };
            return await Task.Run(() => Run(path, verdict, hosts, forced, parse.GetValue(json), parse.GetValue(quiet), parse.GetValue(import), parse.GetValue(db), parse.GetValue(firmware), given, stdout, stderr))
                .ConfigureAwait(false);
        });
        return command;
    }

    private static int Run(string file, VerdictOptions verdict, Dictionary<UInt128, ulong>? targets, CaptureView? view, bool json, bool quiet, bool import, string? db, string? firmware,
        IReadOnlyDictionary<string, string> labels, TextWriter stdout, TextWriter stderr)
    {
        if (!import && (db is not null || firmware is not null)) throw new UsageException("--db and --firmware go with --import");
        if (import && db is null) db = ReachProbe.History.HistoryStore.PathFromEnvironment();

        var recorder = import ? new IncidentRecorder() : null;
        var options = new AnalysisOptions { Verdict = verdict, Targets = targets, View = view, Observers = recorder is null ? [] : [recorder] };
        using var progress = quiet || Console.IsErrorRedirected ? null : new ProgressLine(stderr);
        AnalysisResult result;
        try
        {
            result = CaptureAnalyzer.AnalyzeFile(file, options, progress);
        }
        catch (CaptureException e)
        {
            progress?.Dispose();
            stderr.WriteLine($"reachprobe: {e.Message}");
            return CommandLine.Usage;
        }
        progress?.Dispose();
        if (json)
        {
            stdout.Flush();
            using var o = Console.OpenStandardOutput();
            if (ReferenceEquals(stdout, Console.Out))
            {
                ReportWriter.WriteJson(result, o, labels);
                o.Write("\n"u8);
            }
            else
            {
                using var ms = new MemoryStream();
                ReportWriter.WriteJson(result, ms, labels);
                stdout.WriteLine(System.Text.Encoding.UTF8.GetString(ms.ToArray()));
            }
        }
        else
        {
            ReportWriter.WriteText(result, stdout);
        }
        if (recorder is not null && result.FirstTime is { } first && Import(result, recorder, file, db!, firmware, first, targets is not null, labels, stderr) is { } failed) return failed;
        if (result.Error is null) return CommandLine.Ok;
        stderr.WriteLine($"reachprobe: {result.Error}");
        return CommandLine.Usage;
    }

    /// <summary>
    /// The history import as an observer of the loop, as the live agent's history is: it is told of each host as the
    /// loop tracks it, and after the loop's last step (the end of the capture) reads their incidents, ended and open.
    /// </summary>
    private sealed class IncidentRecorder : IAnalysisObserver
    {
        private readonly Dictionary<UInt128, HostMonitor> _hosts = [];

        public void OnHostAdded(HostMonitor host) => _hosts[host.Identity.Ip] = host;

        /// <summary>Every incident of the hosts the report names, as the loop left them.</summary>
        public List<(string Target, string State, DateTimeOffset Start, DateTimeOffset? End, string Reason, ReachProbe.Verdict.EvidenceCounts Evidence)> Of(AnalysisResult result) =>
            result.Targets.Where(t => _hosts.ContainsKey(t.Ip)).SelectMany(t => _hosts[t.Ip].Verdict.Incidents.Select(i => (
                Target: Addresses.Ip(t.Ip),
                State: i.State.Name(),
                Start: new DateTimeOffset(i.Start, TimeSpan.Zero),
                End: i.End is { } e ? new DateTimeOffset(e, TimeSpan.Zero) : (DateTimeOffset?)null,
                Reason: i.EndReason.Name(),
                Evidence: i.Evidence.Copy()))).ToList();

        /// <summary>
        /// The targets the capture watched for its span, with their MAC once known: those named with --target, else
        /// (discovery: every host on the wire) those it found incidents for — a PC in the capture is no console.
        /// </summary>
        public List<(string Name, string Ip, string? Mac)> Targets(AnalysisResult result, bool named) =>
            result.Targets.Where(t => _hosts.TryGetValue(t.Ip, out var h) && (named || h.Verdict.Incidents.Count > 0))
                .Select(t => (Addresses.Ip(t.Ip), Addresses.Ip(t.Ip), _hosts[t.Ip].Identity.Mac is 0 ? null : Addresses.Mac(_hosts[t.Ip].Identity.Mac))).ToList();
    }

    /// <summary>Adds the capture's incidents to the history; returns an exit code on failure, null on success.</summary>
    private static int? Import(AnalysisResult result, IncidentRecorder recorder, string file, string db, string? firmware, long first, bool named, IReadOnlyDictionary<string, string> labels,
        TextWriter stderr)
    {
        var incidents = recorder.Of(result);
        try
        {
            using var store = ReachProbe.History.HistoryStore.Open(db);
            var added = store.Import(Path.GetFullPath(file), incidents, firmware, new DateTimeOffset(first, TimeSpan.Zero), new DateTimeOffset(result.LastTime!.Value, TimeSpan.Zero),
                recorder.Targets(result, named), labels);
            stderr.WriteLine(added == 0 && incidents.Count > 0
                ? $"reachprobe: {file} was imported into {db} before; nothing added"
                : $"reachprobe: imported {added} incident(s) into {db}" + (firmware is null ? "" : $" with firmware {firmware}"));
            return null;
        }
        catch (ReachProbe.History.HistoryException e)
        {
            stderr.WriteLine($"reachprobe: {e.Message}");
            return CommandLine.Usage;
        }
    }


    /// <summary>The --label options as a set: each NAME=VALUE checked as a configuration's labels are; a name given twice, or more than a target takes, refused.</summary>
    internal static Dictionary<string, string> ParseLabels(IEnumerable<string> given)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var text in given)
        {
            var eq = text.IndexOf('=');
            if (eq <= 0) throw new UsageException($"--label '{Quote.Clip(text)}': write it NAME=VALUE (room=living)");
            var (name, value) = (text[..eq], text[(eq + 1)..]);
            if (ReachProbe.Agent.AgentConfig.LabelProblem(name, value) is { } problem) throw new UsageException($"--label '{Quote.Clip(text)}': {problem}");
            if (!labels.TryAdd(name, value)) throw new UsageException($"--label '{Quote.Clip(name)}' is given twice");
            if (labels.Count > ReachProbe.Agent.AgentConfig.MaxLabels) throw new UsageException($"--label: more than {ReachProbe.Agent.AgentConfig.MaxLabels} labels");
        }
        return labels;
    }

    internal static (UInt128 Ip, ulong Mac) ParseTarget(string text)
    {
        var eq = text.IndexOf('=');
        var ipText = eq < 0 ? text : text[..eq];
        // A capture file has no interfaces: a link-local address's zone is not needed, and not checked.
        if (!Addresses.TryParseHostAddress(ipText, out var ip, out _, out var problem)) throw new UsageException($"--target '{Quote.Clip(text)}': '{Quote.Clip(ipText)}' {problem}");
        ulong mac = 0;
        if (eq >= 0 && !Addresses.TryParseHostMac(text[(eq + 1)..], out mac, out problem))
            throw new UsageException($"--target '{Quote.Clip(text)}': '{Quote.Clip(text[(eq + 1)..])}' {problem}");
        return (ip, mac);
    }
}
