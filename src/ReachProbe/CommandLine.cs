using System.CommandLine;
using System.CommandLine.Parsing;
using System.Reflection;

namespace ReachProbe.Cli;

/// <summary>
/// Entry point, parsed with System.CommandLine: per-command --help, --opt=value, shell completion ([suggest]).
/// Exit codes: 0 success, 1 the command's own "not OK" result, 2 bad usage or input. A usage error is one line:
/// "reachprobe: WHAT (see 'reachprobe COMMAND --help')".
/// </summary>
internal static class CommandLine
{
    public const int Ok = 0, Usage = 2, OutputError = 74;

    /// <summary>
    /// True, having said so in one line, when the process lacks CAP_NET_RAW or CAP_NET_ADMIN: <paramref name="command"/>
    /// cannot <paramref name="purpose"/> without them (root, setcap, and <paramref name="otherWay"/> when given).
    /// </summary>
    public static bool LacksCaptureCapabilities(string command, string purpose, string? otherWay, TextWriter stderr)
    {
        if (ReachProbe.Wire.SysNet.MissingCaptureCapabilities() is not [_, ..] missing) return false;
        stderr.WriteLine($"reachprobe: {command} needs {string.Join(" and ", missing)} to {purpose}, and does not have {(missing.Count == 1 ? "it" : "them")}: "
            + $"run it as root, or give them to the program (sudo setcap cap_net_raw,cap_net_admin+eip {Environment.ProcessPath ?? "reachprobe"})"
            + (otherWay is null ? "" : $", {otherWay}"));
        return true;
    }

    private const string ExitStatus = """
        Exit status: analyze: 0 analysed; 2 bad usage, or a capture that is missing, unsupported or broken
        (a capture broken part-way is still analysed up to the break). probe, by its verdict: 0 up, 1 deaf,
        3 down, 4 unresponsive, 5 no such host, 6 unknown; 2 bad usage. run, report, history copy: 0 done; 2 bad usage
        or input (a database that cannot be used). discover: 0 listened; 1 --config-out found no console; 2 bad usage, or no capture. Any command: 74 when its output cannot be written (a full disk, > /dev/full).
        'reachprobe COMMAND --help' lists a command's options.
        """;

    /// <summary>The command tree; the commands write to <paramref name="stdout"/> and <paramref name="stderr"/>.</summary>
    public static RootCommand Build(TextWriter stdout, TextWriter stderr, TimeProvider? time = null)
    {
        var root = new RootCommand("reachprobe — tells a host that won't answer (deaf) from one that is down.")
        {
            AnalyzeCommand.Create(stdout, stderr),
            DiscoverCommand.Create(stdout, stderr),
            ProbeCommand.Create(stdout, stderr),
            RunCommand.Create(stdout, stderr),
            ReportCommand.Create(stdout, stderr, time),
            HistoryCommand.Create(stdout, stderr),
        };
        root.SetAction(_ =>
        {
            stderr.WriteLine(Overview(root));
            return Usage;
        });
        return root;
    }

    /// <summary>What 'reachprobe' alone and 'reachprobe --help' print: the commands, then the exit status.</summary>
    public static string Overview(RootCommand root)
    {
        var lines = new List<string> { root.Description!, "", "Usage:" };
        foreach (var c in root.Subcommands)
        {
            var usage = $"  reachprobe {c.Name}{string.Concat(c.Arguments.Select(a => $" {a.HelpName ?? a.Name.ToUpperInvariant()}"))} [options]";
            lines.Add($"{usage,-38} {c.Description}");
        }
        lines.Add($"{"  reachprobe COMMAND --help",-38} the options of a command");
        lines.Add("  reachprobe --version");
        lines.Add("");
        lines.Add(ExitStatus);
        return string.Join(Environment.NewLine, lines);
    }

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, TimeProvider? time = null, CancellationToken cancellation = default)
    {
        try
        {
            return await RunCommandAsync(args, stdout, stderr, time, cancellation).ConfigureAwait(false);
        }
        catch (OutputException e)
        {
            // > /dev/full, a full disk, a reader gone: one line, and the status sysexits.h gives an output error.
            stderr.WriteLine($"reachprobe: cannot write the output: {e.Message}");
            return OutputError;
        }
    }

    private static async Task<int> RunCommandAsync(string[] args, TextWriter stdout, TextWriter stderr, TimeProvider? time, CancellationToken cancellation)
    {
        var root = Build(stdout, stderr, time);
        if (args is ["--help" or "-h" or "-?" or "help"])
        {
            stdout.WriteLine(Overview(root));
            return Ok;
        }
        if (args is ["--version"])
        {
            stdout.WriteLine(Agent.BuildInfo.Line);
            return Ok;
        }
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Errors.Count > 0) return UsageError(stderr, Describe(parse), parse.CommandResult.Command);
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false,
                // SIGTERM and Ctrl+C belong to the agent's host, which stops cleanly and exits 0; System.CommandLine's
                // own handler would end the process with 143 after its timeout.
                ProcessTerminationTimeout = null,
            }, cancellation)
                .ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            return UsageError(stderr, e.Message, parse.CommandResult.Command);
        }
    }

    /// <summary>The first parse error in ReachProbe's words.</summary>
    private static string Describe(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        if (parse.UnmatchedTokens.FirstOrDefault() is { } extra)
        {
            if (command is RootCommand) return extra.StartsWith('-') ? $"unknown option '{Settings.Quote.Clip(extra)}'" : $"unknown command '{Settings.Quote.Clip(extra)}'";
            if (extra.StartsWith('-') && extra != "-") return $"unknown option '{Settings.Quote.Clip(extra)}' for {command.Name}";
            var given = command.Arguments.Select(a => parse.GetResult(a)?.Tokens.FirstOrDefault()?.Value).FirstOrDefault(v => v is not null);
            var one = (command.Arguments.FirstOrDefault()?.Description ?? "an argument").Split(' ', 2)[^1];
            return $"{command.Name} takes one {one}; got '{Settings.Quote.Clip(given ?? "")}' and '{Settings.Quote.Clip(extra)}'";
        }
        // A required argument that is missing: what it is and how the command is written.
        if (command.Arguments.FirstOrDefault(a => a.Arity.MinimumNumberOfValues > 0 && (parse.GetResult(a)?.Tokens.Count ?? 0) == 0) is { } missing)
            return $"{command.Name} needs {missing.Description}: reachprobe {command.Name} {missing.HelpName ?? missing.Name}";
        var error = parse.Errors[0];
        if (error.SymbolResult is OptionResult { Tokens.Count: 0 } option) return $"{option.Option.Name} needs a value";
        return error.Message;
    }

    public static int UsageError(TextWriter stderr, string message, Command? command = null)
    {
        var help = command is null or RootCommand ? "reachprobe --help" : $"reachprobe {command.Name} --help";
        stderr.WriteLine($"reachprobe: {message} (see '{help}')");
        return Usage;
    }
}

/// <summary>A command line that cannot be run as given.</summary>
internal sealed class UsageException(string message) : Exception(message);
