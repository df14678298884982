using System.Globalization;
using ReachProbe.Analysis;
using ReachProbe.Verdict;
using ReachProbe.Wire;

namespace ReachProbe.Cli;

/// <summary><c>reachprobe analyze FILE</c>: the field report's Wireshark session, automated.</summary>
internal static class AnalyzeCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        string? file = null;
        var json = false;
        var quiet = false;
        var import = false;
        string? db = null;
        string? firmware = null;
        var verdict = new VerdictOptions();
        Dictionary<uint, ulong>? targets = null;
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            switch (a)
            {
                case "--json": json = true; break;
                case "--import": import = true; break;
                case "--db": db = CommandLine.Value(args, ref i, a); break;
                case "--firmware": firmware = CommandLine.Value(args, ref i, a); break;
                case "--quiet" or "-q": quiet = true; break;
                case "--target":
                    targets ??= [];
                    var (ip, mac) = ParseTarget(CommandLine.Value(args, ref i, a));
                    targets[ip] = mac;
                    break;
                case "--threshold":
                    verdict.NegativeEvidenceThreshold = int.TryParse(CommandLine.Value(args, ref i, a), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                        ? n : throw new UsageException($"--threshold takes a whole number, not '{args[i]}'");
                    break;
                case "--reply-timeout": verdict.ReplyTimeout = Seconds(args, ref i, a); break;
                case "--repeat-window": verdict.RepeatWindow = Seconds(args, ref i, a); break;
                case "--arp-repeat-window": verdict.ArpRepeatWindow = Seconds(args, ref i, a); break;
                case "--silence": verdict.SilenceWindow = Seconds(args, ref i, a); break;
                default:
                    if (a.StartsWith('-') && a != "-") throw new UsageException($"unknown option '{a}' for analyze");
                    if (file is not null) throw new UsageException($"analyze takes one capture file; got '{file}' and '{a}'");
                    file = a;
                    break;
            }
        }
        if (file is null) throw new UsageException("analyze needs a capture file: reachprobe analyze FILE");
        if (!import && (db is not null || firmware is not null)) throw new UsageException("--db and --firmware go with --import");
        if (import && db is null) db = Environment.GetEnvironmentVariable("REACHPROBE_DB") is { Length: > 0 } env ? env : ReportCommand.DefaultDb;
        var problems = verdict.Validate();
        if (problems.Count > 0) throw new UsageException(string.Join("; ", problems));

        var options = new AnalysisOptions { Verdict = verdict, Targets = targets };
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
                ReportWriter.WriteJson(result, o);
                o.Write("\n"u8);
            }
            else
            {
                using var ms = new MemoryStream();
                ReportWriter.WriteJson(result, ms);
                stdout.WriteLine(System.Text.Encoding.UTF8.GetString(ms.ToArray()));
            }
        }
        else
        {
            ReportWriter.WriteText(result, stdout);
        }
        if (import && result.FirstTime is { } first && Import(result, file, db!, firmware, first, stderr) is { } failed) return failed;
        if (result.Error is null) return CommandLine.Ok;
        stderr.WriteLine($"reachprobe: {result.Error}");
        return CommandLine.Usage;
    }

    /// <summary>Adds the capture's incidents to the history; returns an exit code on failure, null on success.</summary>
    private static int? Import(AnalysisResult result, string file, string db, string? firmware, long first, TextWriter stderr)
    {
        var incidents = result.Targets.SelectMany(t => t.Host.Verdict.Incidents.Select(i => (
            Target: Addresses.Ip(t.Ip),
            State: i.State.Name(),
            Start: new DateTimeOffset(i.Start, TimeSpan.Zero),
            End: i.End is { } e ? new DateTimeOffset(e, TimeSpan.Zero) : (DateTimeOffset?)null,
            Reason: i.EndReason.Name(),
            Evidence: i.Evidence))).ToList();
        try
        {
            using var store = ReachProbe.History.HistoryStore.Open(db);
            var added = store.Import(Path.GetFullPath(file), incidents, firmware, new DateTimeOffset(first, TimeSpan.Zero), new DateTimeOffset(result.LastTime!.Value, TimeSpan.Zero));
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


    private static TimeSpan Seconds(string[] args, ref int i, string option)
    {
        var text = CommandLine.Value(args, ref i, option);
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && double.IsFinite(s) && s >= 0 && s < 1e6
            ? TimeSpan.FromSeconds(s)
            : throw new UsageException($"{option} takes seconds, not '{text}'");
    }

    internal static (uint Ip, ulong Mac) ParseTarget(string text)
    {
        var eq = text.IndexOf('=');
        var ipText = eq < 0 ? text : text[..eq];
        if (!Addresses.TryParseIp(ipText, out var ip)) throw new UsageException($"--target '{text}': '{ipText}' is not an IPv4 address");
        if (!WirePipeline.IsUnicast(ip)) throw new UsageException($"--target '{text}': {ipText} is not a unicast host address");
        ulong mac = 0;
        if (eq >= 0 && !Addresses.TryParseMac(text[(eq + 1)..], out mac))
            throw new UsageException($"--target '{text}': '{text[(eq + 1)..]}' is not a MAC address (aa:bb:cc:dd:ee:ff)");
        return (ip, mac);
    }
}
