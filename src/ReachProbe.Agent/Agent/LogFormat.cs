using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace ReachProbe.Agent;

/// <summary>
/// How the agent's log lines look: <c>plain</c> for a person (time, level, the sentence — no class name, no event id)
/// or <c>json</c>, one object a line for journald, Loki or jq, with the event's id and name and each of its fields.
/// </summary>
public static class LogFormat
{
    /// <summary>The formats, as <c>--log-format</c> and the configuration's <c>logFormat</c> take them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["plain", "json"];

    /// <summary>Sends the log to the console in <paramref name="format"/> (one of <see cref="Names"/>).</summary>
    public static ILoggingBuilder AddReachProbeConsole(this ILoggingBuilder logging, string format)
    {
        logging.AddConsole(o => o.FormatterName = format == "json" ? JsonFormatter.Name : PlainFormatter.Name);
        logging.AddConsoleFormatter<PlainFormatter, ConsoleFormatterOptions>();
        logging.AddConsoleFormatter<JsonFormatter, ConsoleFormatterOptions>();
        return logging;
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        _ => "crit",
    };

    /// <summary>"2026-12-02 07:41:03 warn  198.18.0.27 is DEAF: transmits (…) but answered none of …".</summary>
    internal sealed class PlainFormatter(TimeProvider time) : ConsoleFormatter(Name)
    {
        public new const string Name = "reachprobe-plain";

        public override void Write<TState>(in LogEntry<TState> entry, IExternalScopeProvider? scopes, TextWriter output)
        {
            var message = entry.Formatter(entry.State, entry.Exception);
            if (string.IsNullOrEmpty(message) && entry.Exception is null) return;
            output.Write(time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss ", System.Globalization.CultureInfo.InvariantCulture));
            output.Write($"{Level(entry.LogLevel),-5} ");
            output.WriteLine(message);
            // A fault's stack is for the developer who reads the log after a crash: below the sentence, never instead of it.
            if (entry.Exception is { } e) output.WriteLine(e.ToString());
        }
    }

    /// <summary>{"time":"…","level":"warn","event":1002,"eventName":"TargetFailing","message":"…","target":"…",…}</summary>
    internal sealed class JsonFormatter(TimeProvider time) : ConsoleFormatter(Name)
    {
        public new const string Name = "reachprobe-json";

        public override void Write<TState>(in LogEntry<TState> entry, IExternalScopeProvider? scopes, TextWriter output)
        {
            var message = entry.Formatter(entry.State, entry.Exception);
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteString("time", time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
                json.WriteString("level", Level(entry.LogLevel));
                if (entry.EventId.Id != 0) json.WriteNumber("event", entry.EventId.Id);
                if (entry.EventId.Name is { } name) json.WriteString("eventName", name);
                json.WriteString("category", entry.Category);
                json.WriteString("message", message);
                if (entry.Exception is { } e) json.WriteString("exception", e.ToString());
                if (entry.State is IReadOnlyList<KeyValuePair<string, object?>> fields)
                    foreach (var (key, value) in fields)
                    {
                        if (key == "{OriginalFormat}") continue;
                        var field = char.ToLowerInvariant(key[0]) + key[1..];
                        switch (value)
                        {
                            case null: json.WriteNull(field); break;
                            case int i: json.WriteNumber(field, i); break;
                            case long l: json.WriteNumber(field, l); break;
                            case double d: json.WriteNumber(field, d); break;
                            default: json.WriteString(field, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)); break;
                        }
                    }
                json.WriteEndObject();
            }
            output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        }
    }
}
