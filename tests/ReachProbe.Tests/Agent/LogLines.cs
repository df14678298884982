using Microsoft.Extensions.Logging;

namespace ReachProbe.Tests.Agent;

/// <summary>A logger that keeps each line: its event, level, sentence and fields (for tests of what the agent says).</summary>
public sealed class LogLines : ILogger
{
    public sealed record Line(EventId Event, LogLevel Level, string Message, IReadOnlyList<KeyValuePair<string, object?>> Fields, Exception? Exception);

    private readonly List<Line> _lines = [];

    public IReadOnlyList<Line> Lines
    {
        get { lock (_lines) return _lines.ToList(); }
    }

    public IReadOnlyList<string> Messages => Lines.Select(l => l.Message).ToList();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var fields = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
        lock (_lines) _lines.Add(new Line(eventId, logLevel, formatter(state, exception), fields.ToList(), exception));
    }
}
