using Microsoft.Extensions.Logging;
using ReachProbe.History;
using ReachProbe.Verdict;

namespace ReachProbe.Agent;

/// <summary>
/// Writes the agent's incidents, firmware changes and signs of life to the history database. A database that cannot be
/// used (locked, corrupt, from a newer ReachProbe) is reported once, clearly, and the agent goes on monitoring and
/// exporting metrics without history.
/// </summary>
internal sealed partial class HistoryRecorder(string? path, AgentMetrics metrics, ILogger log)
{
    private readonly Dictionary<Incident, (long Id, TargetState State, string Firmware)> _open = [];
    private readonly Dictionary<string, string> _firmware = [];
    private HistoryStore? _store;

    public void Start(DateTimeOffset now)
    {
        if (path is null) return;
        try
        {
            _store = HistoryStore.Open(path);
            var cut = _store.Start(now);
            LogOpened(path, cut);
        }
        catch (HistoryException e)
        {
            _store = null;
            LogUnavailable(e.Message);
        }
    }

    public void Firmware(string target, string? firmware, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(firmware) || _firmware.GetValueOrDefault(target) == firmware) return;
        _firmware[target] = firmware;
        Try(s => s.RecordFirmware(target, firmware, now));
    }

    /// <summary>Brings the database up to date with the verdict's incidents (called on every state change).</summary>
    public void Sync(string target, TargetVerdict verdict)
    {
        foreach (var incident in verdict.Incidents)
        {
            if (!_open.TryGetValue(incident, out var known))
            {
                if (!Seen.Add(incident)) continue;
                var fw = _firmware.GetValueOrDefault(target) ?? "unknown";
                long id = -1;
                Try(s => id = s.OpenIncident(target, incident.State, new DateTimeOffset(incident.Start, TimeSpan.Zero), fw == "unknown" ? null : fw));
                known = (id, incident.State, fw);
                _open[incident] = known;
            }
            if (known.State != incident.State)
            {
                Try(s => s.UpdateState(known.Id, incident.State));
                _open[incident] = known = known with { State = incident.State };
            }
            if (incident.End is { } end)
            {
                var reason = incident.EndReason.Name();
                Try(s => s.CloseIncident(known.Id, new DateTimeOffset(end, TimeSpan.Zero), reason, incident.Evidence));
                metrics.IncidentEnded(target, incident.State.Name(), known.Firmware, TimeSpan.FromTicks(end - incident.Start));
                _open.Remove(incident);
            }
        }
    }

    /// <summary>A target removed by a reload: its open incident is closed as cut short at <paramref name="now"/>.</summary>
    public void Forget(string target, TargetVerdict verdict, DateTimeOffset now)
    {
        foreach (var incident in verdict.Incidents)
        {
            if (incident.End is not null || !_open.Remove(incident, out var known)) continue;
            Try(s => s.CloseIncident(known.Id, now, IncidentEnd.CutShort.Name(), incident.Evidence));
        }
    }

    private HashSet<Incident> Seen { get; } = [];

    /// <summary>Records a sign of life and saves open incidents' evidence so far, so a crash loses neither.</summary>
    public void Alive(DateTimeOffset now) => Try(s =>
    {
        s.Alive(now);
        foreach (var (incident, known) in _open) s.UpdateEvidence(known.Id, incident.Evidence);
    });

    public void Stop(DateTimeOffset now)
    {
        Try(s => s.Stop(now));
        _store?.Dispose();
        _store = null;
    }

    private void Try(Action<HistoryStore> action)
    {
        if (_store is null) return;
        try
        {
            action(_store);
        }
        catch (HistoryException e)
        {
            LogUnavailable(e.Message);
            _store.Dispose();
            _store = null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "history in {Path}; {CutShort} incident(s) left open by a crash closed as cut short")]
    private partial void LogOpened(string path, int cutShort);

    [LoggerMessage(Level = LogLevel.Error, Message = "no incident history: {Reason}; monitoring and metrics go on")]
    private partial void LogUnavailable(string reason);
}
