using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Time.Testing;
using ReachProbe.Agent;

namespace ReachProbe.Tests.Agent;

/// <summary>The agent's two log formats, fed by its own log messages: a sentence for a person, one JSON object a line for a machine.</summary>
public sealed class LogFormatTests
{
    private static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 12, 2, 7, 41, 3, TimeSpan.Zero));

    /// <summary>An ILogger that writes through <paramref name="formatter"/>, as the console provider does.</summary>
    private sealed class Through(ConsoleFormatter formatter, TextWriter output) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> f) =>
            formatter.Write(new LogEntry<TState>(logLevel, "ReachProbe.Agent.AgentService", eventId, state, exception, f), null, output);
    }

    [Fact]
    public void Plain_IsTimeLevelSentence_NoClassNameNoEventId()
    {
        var output = new StringWriter();
        new Through(new LogFormat.PlainFormatter(Clock), output).TargetFailing("console (198.18.0.27)", "DEAF", "transmits (4 frames) but answered none of 3 echo requests");
        Assert.Equal("2026-12-02 07:41:03 warn  console (198.18.0.27) is DEAF: transmits (4 frames) but answered none of 3 echo requests" + Environment.NewLine, output.ToString());
    }

    [Fact]
    public void Plain_AFaultKeepsItsSentenceFirst_ThenTheStack()
    {
        var output = new StringWriter();
        new Through(new LogFormat.PlainFormatter(Clock), output).LoopFailed(new InvalidOperationException("boom"));
        var lines = output.ToString().Split(Environment.NewLine);
        Assert.Equal("2026-12-02 07:41:03 crit  the analysis loop failed; stopping", lines[0]);
        Assert.StartsWith("System.InvalidOperationException: boom", lines[1]);
    }

    [Fact]
    public void Json_CarriesEventIdNameAndFields_OneObjectALine()
    {
        var output = new StringWriter();
        var log = new Through(new LogFormat.JsonFormatter(Clock), output);
        log.TargetRecovered("console (198.18.0.27)", "42 s", "deaf");
        log.TargetUp("198.18.0.1");
        var lines = output.ToString().TrimEnd().Split(Environment.NewLine);
        Assert.Equal(2, lines.Length);
        using var doc = JsonDocument.Parse(lines[0]);
        var o = doc.RootElement;
        Assert.Equal("2026-12-02T07:41:03.000Z", o.GetProperty("time").GetString());
        Assert.Equal("info", o.GetProperty("level").GetString());
        Assert.Equal(1007, o.GetProperty("event").GetInt32());
        Assert.Equal("TargetRecovered", o.GetProperty("eventName").GetString());
        Assert.Equal("console (198.18.0.27) is UP again after 42 s (deaf)", o.GetProperty("message").GetString());
        Assert.Equal("console (198.18.0.27)", o.GetProperty("target").GetString());
        Assert.Equal("42 s", o.GetProperty("duration").GetString());
        Assert.Equal("deaf", o.GetProperty("was").GetString());
        Assert.False(o.TryGetProperty("{OriginalFormat}", out _));
    }

    [Fact]
    public void EveryLogMessage_HasAnExplicitIdAndAName()
    {
        // LoggerMessage without an id hashes the name (the "[774325246]" a user saw): every message of Log has its own id.
        var methods = typeof(Log).GetMethods().Where(m => m.GetCustomAttributes(typeof(LoggerMessageAttribute), false).Length > 0).ToList();
        Assert.NotEmpty(methods);
        var ids = methods.Select(m => ((LoggerMessageAttribute)m.GetCustomAttributes(typeof(LoggerMessageAttribute), false)[0]).EventId).ToList();
        Assert.DoesNotContain(ids, id => id <= 0);
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }
}
