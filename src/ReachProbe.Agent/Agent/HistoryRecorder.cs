using Microsoft.Extensions.Logging;
using ReachProbe.History;
using ReachProbe.Verdict;

namespace ReachProbe.Agent;

/// <summary>
/// Writes the agent's incidents, firmware changes and signs of life to the history database, and heals: a write that
/// fails (disk full, the database locked or gone) is kept, in order, in a bounded queue and written again when the
/// database takes writes again — retried with a backoff from 1 s to 1 min at the loop's ticks, never by waiting on the
/// loop's thread. What the queue cannot hold is counted (<c>reachprobe_history_writes_dropped_total</c>), and the
/// failure and the recovery are logged once each. A database that cannot be opened at start is tried again the same way.
/// </summary>
internal sealed partial class HistoryRecorder(string? path, AgentMetrics metrics, ILogger log)
{
    /// <summary>Writes kept while the database fails; beyond this the oldest signs of life go first, then new writes are dropped.</summary>
    public const int MaxPending = 10_000;

    /// <summary>An incident as the database knows it; its id is known once its insert has run.</summary>
    private sealed class Row(TargetState state, string firmware)
    {
        public long Id = -1;
        public TargetState State = state;
        public readonly string Firmware = firmware;
    }

    private readonly Dictionary<Incident, Row> _open = [];
    private readonly Dictionary<string, string> _firmware = [];
    private readonly HashSet<Incident> _seen = [];
    private readonly LinkedList<(Action<HistoryStore> Write, bool Alive)> _pending = new();
    private HistoryStore? _store;
    private bool _failing;
    private readonly Resilience.Backoff _backoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));

    /// <summary>Writes waiting for the database.</summary>
    public int Pending => _pending.Count;

    public void Start(DateTimeOffset now)
    {
        if (path is null) return;
        Write(s =>
        {
            log.HistoryOpened(path, s.Start(now));
            _run = s.Run;
        });
        metrics.History(!_failing, _pending.Count);
    }

    // The agent's run in the database, once written: a connection opened anew after a failure goes on with it.
    private long? _run;

    /// <summary>The targets are watched from <paramref name="now"/>: their observed time starts (at start, or added by a reload). One write for all.</summary>
    public void Watch(IEnumerable<TargetConfig> targets, DateTimeOffset now)
    {
        var all = targets.ToList();
        var list = all.Select(t => (t.Name, t.Ip?.ToString(), t.Mac)).ToList();
        var labels = all.Select(t => t.Labels).ToList();
        if (list.Count > 0) Write(s => s.Watch(list, now, labels));
    }

    /// <summary>The target is no longer watched (removed by a reload): its observed time stops.</summary>
    public void Unwatch(string target, DateTimeOffset now) => Write(s => s.Unwatch(target, now));

    /// <summary>The target's MAC is known now: its history follows the device (one identity across renames and addresses).</summary>
    public void Identify(string target, string ip, string mac) => Write(s => s.Target(target, ip, mac));

    public void Firmware(string target, string? firmware, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(firmware) || _firmware.GetValueOrDefault(target) == firmware) return;
        _firmware[target] = firmware;
        Write(s => s.RecordFirmware(target, firmware, now));
    }

    /// <summary>Brings the database up to date with the verdict's incidents (called on every state change).</summary>
    public void Sync(string target, TargetVerdict verdict)
    {
        foreach (var incident in verdict.Incidents)
        {
            if (!_open.TryGetValue(incident, out var row))
            {
                if (!_seen.Add(incident)) continue;
                var fw = _firmware.GetValueOrDefault(target) ?? "unknown";
                row = new Row(incident.State, fw);
                var start = new DateTimeOffset(incident.Start, TimeSpan.Zero);
                var state = incident.State;
                var opened = row;
                Write(s => opened.Id = s.OpenIncident(target, state, start, fw == "unknown" ? null : fw));
                _open[incident] = row;
            }
            if (row.State != incident.State)
            {
                var state = incident.State;
                var changed = row;
                Write(s => s.UpdateState(changed.Id, state));
                row.State = state;
            }
            if (incident.End is { } end)
            {
                var reason = incident.EndReason.Name();
                var closed = row;
                var evidence = Copy(incident.Evidence);
                Write(s => s.CloseIncident(closed.Id, new DateTimeOffset(end, TimeSpan.Zero), reason, evidence));
                metrics.IncidentEnded(target, incident.State.Name(), row.Firmware, TimeSpan.FromTicks(end - incident.Start));
                _open.Remove(incident);
            }
        }
    }

    /// <summary>A target removed by a reload: its open incident is closed as cut short at <paramref name="now"/>.</summary>
    public void Forget(string target, TargetVerdict verdict, DateTimeOffset now)
    {
        foreach (var incident in verdict.Incidents)
        {
            if (incident.End is not null || !_open.Remove(incident, out var row)) continue;
            var evidence = Copy(incident.Evidence);
            Write(s => s.CloseIncident(row.Id, now, IncidentEnd.CutShort.Name(), evidence));
        }
    }

    /// <summary>
    /// Records a sign of life and saves open incidents' evidence so far (so a crash loses neither), after retrying what
    /// waits, when its backoff has passed.
    /// </summary>
    public void Alive(DateTimeOffset now)
    {
        if (path is null) return;
        if (_failing && _backoff.Due(now)) Retry(now);
        var open = _open.Select(kv => (kv.Value, Copy(kv.Key.Evidence))).ToList();
        Write(s =>
        {
            s.Alive(now);
            foreach (var (row, evidence) in open)
                if (row.Id >= 0) s.UpdateEvidence(row.Id, evidence);
        }, alive: true);
        metrics.History(!_failing, _pending.Count);
    }

    public void Stop(DateTimeOffset now)
    {
        if (path is null) return;
        if (_failing) Retry(now);
        Write(s => s.Stop(now));
        _run = null;
        if (_pending.Count > 0) log.HistoryLost(_pending.Count);
        _store?.Dispose();
        _store = null;
    }

    private static EvidenceCounts Copy(EvidenceCounts counts)
    {
        var copy = new EvidenceCounts();
        copy.Merge(counts);
        return copy;
    }

    /// <summary>Writes now, or keeps the write for later when the database fails (or older writes still wait).</summary>
    private void Write(Action<HistoryStore> write, bool alive = false)
    {
        if (path is null) return;
        if (!_failing && TryWrite(write)) return;
        Keep(write, alive);
    }

    private bool TryWrite(Action<HistoryStore> write)
    {
        try
        {
            if (_store is null)
            {
                _store = HistoryStore.Open(path!);
                if (_run is { } run) _store.Resume(run);
            }
            write(_store);
            return true;
        }
        catch (HistoryException e)
        {
            Fail(e.Message);
            return false;
        }
        catch (System.Data.Common.DbException e)
        {
            // A commit that fails (the disk full) comes from the driver as it is: the same failure, kept and retried.
            Fail($"{path}: {e.Message}");
            return false;
        }
    }

    private void Keep(Action<HistoryStore> write, bool alive)
    {
        if (_pending.Count >= MaxPending)
        {
            // Signs of life are the cheapest to lose: the next one says as much. Otherwise the new write is dropped.
            var oldAlive = _pending.First;
            while (oldAlive is not null && !oldAlive.Value.Alive) oldAlive = oldAlive.Next;
            if (oldAlive is not null) _pending.Remove(oldAlive);
            else
            {
                metrics.HistoryDropped();
                return;
            }
            metrics.HistoryDropped();
        }
        _pending.AddLast((write, alive));
    }

    private void Fail(string reason)
    {
        if (!_failing) log.HistoryFailing(reason);
        _failing = true;
        // A connection that failed may hold a broken state (the file deleted, a disk error): open anew next time.
        _store?.Dispose();
        _store = null;
    }

    private void Retry(DateTimeOffset now)
    {
        while (_pending.First is { } next)
        {
            if (!TryWrite(next.Value.Write))
            {
                _backoff.Failed(now);
                return;
            }
            _pending.RemoveFirst();
        }
        _failing = false;
        _backoff.Succeeded();
        log.HistoryHealed(path!);
    }
}
