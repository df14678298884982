using System.Globalization;
using System.Text;

namespace ReachProbe.Probes;

/// <summary>What a PlayStation said in answer to a device-discovery (DDP) search.</summary>
public sealed record DdpInfo
{
    /// <summary>Status code of the first line (200 awake, 620 standby).</summary>
    public int StatusCode { get; init; }
    /// <summary>Status by code.</summary>
    public ConsoleStatus Status => StatusCode switch { 200 => ConsoleStatus.Awake, 620 => ConsoleStatus.Standby, _ => ConsoleStatus.Other };
    /// <summary>host-id.</summary>
    public string? HostId { get; init; }
    /// <summary>host-type (PS4, PS5).</summary>
    public string? HostType { get; init; }
    /// <summary>host-name.</summary>
    public string? HostName { get; init; }
    /// <summary>host-request-port.</summary>
    public string? HostRequestPort { get; init; }
    /// <summary>system-version as sent (always kept).</summary>
    public string? SystemVersion { get; init; }
    /// <summary>running-app-titleid.</summary>
    public string? RunningAppTitleId { get; init; }
    /// <summary>running-app-name.</summary>
    public string? RunningAppName { get; init; }

    /// <summary>Firmware decoded from <see cref="SystemVersion"/> ("07020001" → "7.02"), or null when it is not eight digits.</summary>
    public string? Firmware => Ddp.DecodeFirmware(SystemVersion);
}

/// <summary>PlayStation device discovery (DDP): the search messages and a parser for the answers.</summary>
public static class Ddp
{
    /// <summary>UDP port a PS4 listens on.</summary>
    public const int Ps4Port = 987;
    /// <summary>UDP port a PS5 listens on.</summary>
    public const int Ps5Port = 9302;
    /// <summary>First local port a PS5 search is sent from; 9303–9319 are tried in turn when busy.</summary>
    public const int Ps5SourcePort = 9303;

    /// <summary>The PS4 search (protocol version 00020020).</summary>
    public static byte[] Ps4Search => Encoding.ASCII.GetBytes("SRCH * HTTP/1.1\ndevice-discovery-protocol-version:00020020\n");

    /// <summary>The PS5 search (protocol version 00030010).</summary>
    public static byte[] Ps5Search => Encoding.ASCII.GetBytes("SRCH * HTTP/1.1\ndevice-discovery-protocol-version:00030010\n");

    /// <summary>Parses an answer. False, with a reason, for anything that is not one.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out DdpInfo? info, out string? problem)
    {
        info = null;
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(data);
        }
        catch (DecoderFallbackException)
        {
            problem = "not UTF-8 text";
            return false;
        }
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var status = lines[0].Split(' ', 3);
        if (status.Length < 2 || !status[0].StartsWith("HTTP/", StringComparison.Ordinal)
            || status[1].Length != 3 || !int.TryParse(status[1], NumberStyles.None, CultureInfo.InvariantCulture, out var code))
        {
            problem = $"no status line (got '{Truncate(lines[0])}')";
            return false;
        }
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon > 0) fields[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        info = new DdpInfo
        {
            StatusCode = code,
            HostId = Field(fields, "host-id"),
            HostType = Field(fields, "host-type"),
            HostName = Field(fields, "host-name"),
            HostRequestPort = Field(fields, "host-request-port"),
            SystemVersion = Field(fields, "system-version"),
            RunningAppTitleId = Field(fields, "running-app-titleid"),
            RunningAppName = Field(fields, "running-app-name"),
        };
        problem = null;
        return true;
    }

    /// <summary>"07020001" → "7.02": two digits of major version, two of minor; null for anything else.</summary>
    public static string? DecodeFirmware(string? systemVersion)
    {
        if (systemVersion is not { Length: 8 } || !systemVersion.All(char.IsAsciiDigit)) return null;
        return $"{int.Parse(systemVersion[..2], CultureInfo.InvariantCulture)}.{systemVersion[2..4]}";
    }

    /// <summary>Longest field kept: they become metric labels, and anyone on the LAN can answer a discovery probe.</summary>
    public const int MaxField = 64;

    private static string? Field(Dictionary<string, string> fields, string name) =>
        fields.GetValueOrDefault(name) is { } v ? (v.Length <= MaxField ? v : v[..MaxField]) : null;

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
