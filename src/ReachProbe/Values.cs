using System.CommandLine;
using System.CommandLine.Parsing;
using System.Net;
using ReachProbe.Agent;
using ReachProbe.Settings;
using ReachProbe.Wire;

namespace ReachProbe.Cli;

/// <summary>
/// One parser per kind of value, shared by every command: a bad value is refused while parsing with one line that names
/// the option and quotes at most 80 characters of what was given, whichever command it was given to.
/// </summary>
internal static class Values
{
    /// <summary>Seconds or a whole number within <paramref name="range"/>.</summary>
    public static Option<double?> Number(string flag, ValueRange range, string help) => new(flag)
    {
        Description = help,
        HelpName = range.Whole ? "N" : range.Unit is null ? "SEC" : "X",
        CustomParser = r => Parse<double?>(r, text => range.TryParse(text, out var v) ? v : null, text => $"{flag} {range.Problem(text)}"),
    };

    /// <summary>A host by its address (IPv4, or IPv6 with a link-local one's zone), its MAC or its name; repeatable.</summary>
    public static Option<List<(IPAddress? Ip, string? Mac, string? Host)>> HostTargets(string flag, string help) => new(flag)
    {
        Description = help,
        HelpName = "IP|MAC|HOST",
        CustomParser = r =>
        {
            var list = new List<(IPAddress?, string?, string?)>();
            foreach (var token in r.Tokens)
            {
                // A MAC (six hex pairs) is a device whose address is learned from the wire and followed.
                if (Addresses.TryParseMac(token.Value, out _))
                {
                    if (!Addresses.TryParseHostMac(token.Value, out var mac, out var macProblem))
                    {
                        r.AddError($"{flag} '{Quote.Clip(token.Value)}' {macProblem}");
                        return list;
                    }
                    if (!list.Contains((null, Addresses.Mac(mac), null))) list.Add((null, Addresses.Mac(mac), null));
                    continue;
                }
                // A host name (a letter in it, no colon): resolved at start and on its TTL.
                if (token.Value.Any(char.IsAsciiLetter) && !token.Value.Contains(':', StringComparison.Ordinal))
                {
                    if (!Addresses.TryParseHostName(token.Value, out var nameProblem))
                    {
                        r.AddError($"{flag} '{Quote.Clip(token.Value)}' {nameProblem}");
                        return list;
                    }
                    var host = token.Value.TrimEnd('.').ToLowerInvariant();
                    if (!list.Contains((null, null, host))) list.Add((null, null, host));
                    continue;
                }
                if (ReachProbe.Agent.AgentConfig.HostAddress(token.Value, out var problem) is not { } ip)
                {
                    r.AddError($"{flag} '{Quote.Clip(token.Value)}' {problem}{(token.Value.Contains(':', StringComparison.Ordinal) && !token.Value.Contains("::", StringComparison.Ordinal) ? " (nor a MAC address, aa:bb:cc:dd:ee:ff)" : "")}");
                    return list;
                }
                if (!list.Contains((ip, null, null))) list.Add((ip, null, null));
            }
            return list;
        },
    };

    /// <summary>The problem with <paramref name="text"/> as a host's IPv4 address given to <paramref name="flag"/>, or null.</summary>
    public static string? HostIp(string text, string flag) =>
        Addresses.TryParseHostIp(text, out _, out var problem) ? null : $"{flag} '{Quote.Clip(text)}' {problem}";

    /// <summary>A host's MAC address.</summary>
    public static Option<ulong?> HostMac(string flag, string help) => new(flag)
    {
        Description = help,
        HelpName = "MAC",
        CustomParser = r => Parse<ulong?>(r, text => Addresses.TryParseHostMac(text, out var m, out _) ? m : null,
            text => { Addresses.TryParseHostMac(text, out _, out var p); return $"{flag} '{Quote.Clip(text)}' {p}"; }),
    };

    /// <summary>ADDRESS:PORT to listen on.</summary>
    public static Option<IPEndPoint?> Endpoint(string flag, string help) => new(flag)
    {
        Description = help,
        HelpName = "ADDR:PORT",
        CustomParser = r => Parse(r, text => AgentConfig.TryParseEndpoint(text, out var ep) ? ep : null, text => $"{flag} '{Quote.Clip(text)}' is not ADDRESS:PORT"),
    };

    /// <summary>A file path: not empty.</summary>
    public static Option<string?> Path(string flag, string help, string helpName = "FILE", params string[] aliases) => new(flag, aliases)
    {
        Description = help,
        HelpName = helpName,
        // Named as the user wrote it (an alias, such as run's --history, is named as such).
        CustomParser = r => Parse(r, text => text.Length > 0 && !text.Contains('\0') ? text : null,
            _ => $"{(r.Parent as System.CommandLine.Parsing.OptionResult)?.IdentifierToken?.Value ?? flag} needs a path, not an empty string"),
    };

    /// <summary>A non-empty word (a label, an interface name).</summary>
    public static Option<string?> Word(string flag, string help, string helpName) => new(flag)
    {
        Description = help,
        HelpName = helpName,
        CustomParser = r => Parse(r, text => text.Length is > 0 and <= 256 ? text : null, text => $"{flag} takes 1–256 characters, not '{Quote.Clip(text)}'"),
    };

    /// <summary>One word of a fixed set (e.g. auto, full, switched).</summary>
    public static Option<string?> OneOf(string flag, string help, params string[] words) => new(flag)
    {
        Description = help,
        HelpName = string.Join('|', words),
        CustomParser = r => Parse(r, text => words.Contains(text, StringComparer.Ordinal) ? text : null,
            text => $"{flag} takes {string.Join(", ", words[..^1])} or {words[^1]}, not '{Quote.Clip(text)}'"),
    };

    private static T? Parse<T>(ArgumentResult r, Func<string, T?> parse, Func<string, string> problem)
    {
        var text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
        var value = parse(text);
        if (value is null) r.AddError(problem(text));
        return value;
    }
}
