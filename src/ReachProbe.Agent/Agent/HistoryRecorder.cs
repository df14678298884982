using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
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
/// <remarks>
/// A PostgreSQL history is written by a thread of its own, never by the loop: a database across the network that is
/// slow, restarting or cut off (a connect that waits for its timeout) must not hold up capture and verdicts. The loop
/// hands each write over in order; the writer keeps them, in order, while the database fails and retries with Polly
/// (exponential backoff with jitter, 1 s to 1 min, for as long as it takes). Writes that a retry may repeat are
/// idempotent in the store (a run, an incident, a watch already written is found). An SQLite file is written inline,
/// as before: local, and a failing disk is retried at the loop's ticks.
/// </remarks>
internal sealed partial class HistoryRecorder
{
    // An agent on several interfaces has a loop for each, on threads of their own, and one history: its calls take turns.
    private readonly Lock _api = new();

    private readonly string? path;
    private readonly AgentMetrics metrics;
    private readonly ILogger log;
    private readonly HistoryAgent _agent;
    private readonly string _shown;

    // Background writing (PostgreSQL): the loop's writes wait here for the writer thread.
    private readonly ConcurrentQueue<(Action<HistoryStore> Write, bool Alive)>? _inbox;
    private readonly SemaphoreSlim _arrived = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Thread? _writer;
    private readonly ResiliencePipeline? _retry;
    private volatile bool _draining;

    public HistoryRecorder(string? path, AgentMetrics metrics, ILogger log, HistoryAgent? agent = null)
    {
        this.path = path;
        this.metrics = metrics;
        this.log = log;
        _agent = agent ?? HistoryAgent.Default;
        _shown = path is null ? "" : PostgresLocation.IsUri(path) ? Shown(path) : path;
        if (path is null || !PostgresLocation.IsUri(path)) return;
        _inbox = new();
        _retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<HistoryException>().Handle<System.Data.Common.DbException>().Handle<InvalidOperationException>(),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromSeconds(1),
            MaxDelay = TimeSpan.FromMinutes(1),
        }).Build();
        _writer = new Thread(Work) { IsBackground = true, Name = "history writer" };
        _writer.Start();
    }

    private static string Shown(string uri)
    {
        try
        {
            return PostgresLocation.Parse(uri).Display;
        }
        catch (HistoryException)
        {
            return "postgresql://…";
        }
    }

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
    private volatile bool _failing;
    private readonly Resilience.Backoff _backoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));

    /// <summary>Writes waiting for the database.</summary>
    public int Pending => _pending.Count + (_inbox?.Count ?? 0);

    public void Start(DateTimeOffset now)
    {
        lock (_api) StartLocked(now);
    }

    private void StartLocked(DateTimeOffset now)
    {
        if (path is null) return;
        Write(s =>
        {
            log.HistoryOpened(_shown, s.Start(now));
            _run = s.Run;
        });
        metrics.History(!_failing, Pending);
    }

    // The agent's run in the database, once written: a connection opened anew after a failure goes on with it.
    private long? _run;

    /// <summary>The targets are watched from <paramref name="now"/>: their observed time starts (at start, or added by a reload). One write for all.</summary>
    public void Watch(IEnumerable<TargetConfig> targets, DateTimeOffset now)
    {
        lock (_api) WatchLocked(targets, now);
    }

    private void WatchLocked(IEnumerable<TargetConfig> targets, DateTimeOffset now)
    {
        var all = targets.ToList();
        var list = all.Select(t => (t.Name, t.Ip?.ToString(), t.Mac)).ToList();
        var labels = all.Select(t => t.Labels).ToList();
        if (list.Count > 0) Write(s => s.Watch(list, now, labels));
    }

    /// <summary>The target is no longer watched (removed by a reload): its observed time stops.</summary>
    public void Unwatch(string target, DateTimeOffset now)
    {
        lock (_api) Write(s => s.Unwatch(target, now));
    }

    /// <summary>The target's MAC is known now: its history follows the device (one identity across renames and addresses).</summary>
    public void Identify(string target, string ip, string mac)
    {
        lock (_api) Write(s => s.Target(target, ip, mac));
    }

    public void Firmware(string target, string? firmware, DateTimeOffset now)
    {
        lock (_api) FirmwareLocked(target, firmware, now);
    }

    private void FirmwareLocked(string target, string? firmware, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(firmware) || _firmware.GetValueOrDefault(target) == firmware) return;
        _firmware[target] = firmware;
        Write(s => s.RecordFirmware(target, firmware, now));
    }

    /// <summary>Brings the database up to date with the verdict's incidents (called on every state change).</summary>
    public void Sync(string target, TargetVerdict verdict) => Sync(target, verdict.Incidents);

    /// <summary>Writes what changed in <paramref name="incidents"/> (a device's, over its addresses) since the last call.</summary>
    public void Sync(string target, IReadOnlyList<Incident> incidents)
    {
        lock (_api) SyncLocked(target, incidents);
    }

    private void SyncLocked(string target, IReadOnlyList<Incident> incidents)
    {
        foreach (var incident in incidents)
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
    public void Forget(string target, IReadOnlyList<Incident> incidents, DateTimeOffset now)
    {
        lock (_api) ForgetLocked(incidents, now);
    }

    private void ForgetLocked(IReadOnlyList<Incident> incidents, DateTimeOffset now)
    {
        foreach (var incident in incidents)
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
        lock (_api) AliveLocked(now);
    }

    private void AliveLocked(DateTimeOffset now)
    {
        if (path is null) return;
        if (_inbox is null && _failing && _backoff.Due(now)) Retry(now);
        var open = _open.Select(kv => (kv.Value, Copy(kv.Key.Evidence))).ToList();
        Write(s =>
        {
            s.Alive(now);
            foreach (var (row, evidence) in open)
                if (row.Id >= 0) s.UpdateEvidence(row.Id, evidence);
        }, alive: true);
        metrics.History(!_failing, Pending);
    }

    /// <summary>How long a stop waits for the writer to write what it holds (a PostgreSQL history).</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    public void Stop(DateTimeOffset now)
    {
        lock (_api) StopLocked(now);
    }

    private void StopLocked(DateTimeOffset now)
    {
        if (path is null) return;
        if (_inbox is null)
        {
            if (_failing) Retry(now);
            Write(s =>
            {
                s.Stop(now);
                _run = null;
            });
            if (_pending.Count > 0) log.HistoryLost(_pending.Count);
            _store?.Dispose();
            _store = null;
            return;
        }
        Write(s =>
        {
            s.Stop(now);
            _run = null;
        });
        // The writer writes what it holds, for a while; what is left then is said and lost.
        _draining = true;
        _arrived.Release();
        if (!_writer!.Join(StopGrace))
        {
            _stopping.Cancel();
            _writer.Join(TimeSpan.FromSeconds(5));
        }
        if (Pending > 0) log.HistoryLost(Pending);
        _store?.Dispose();
        _store = null;
    }

    /// <summary>The writer thread: takes the loop's writes in order and writes them, retrying with Polly while the database fails.</summary>
    private void Work()
    {
        var token = _stopping.Token;
        try
        {
            while (true)
            {
                _arrived.Wait(TimeSpan.FromSeconds(1), token);
                if (_inbox!.IsEmpty && _pending.Count == 0)
                {
                    if (_draining) return;
                    continue;
                }
                _retry!.Execute(WriteAll, token);
                metrics.History(true, Pending);
                if (_failing)
                {
                    _failing = false;
                    log.HistoryHealed(_shown);
                }
                if (_draining && _inbox.IsEmpty) return;
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping with the database away: what is left is counted by Stop.
        }
    }

    /// <summary>Writes everything waiting, oldest first; throws at the first write that fails (it stays first).</summary>
    private void WriteAll(CancellationToken token)
    {
        while (_inbox!.TryDequeue(out var item)) Keep(item.Write, item.Alive);
        while (_pending.First is { } next)
        {
            token.ThrowIfCancellationRequested();
            if (!TryWrite(next.Value.Write))
            {
                metrics.History(false, Pending);
                throw new HistoryException("not written");
            }
            _pending.RemoveFirst();
        }
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
        if (_inbox is not null)
        {
            // Handed to the writer; beyond the bound, a sign of life is the one to lose (the next says as much).
            if (_inbox.Count >= MaxPending)
            {
                metrics.HistoryDropped();
                if (alive) return;
            }
            _inbox.Enqueue((write, alive));
            _arrived.Release();
            return;
        }
        if (!_failing && TryWrite(write)) return;
        Keep(write, alive);
    }

    private bool TryWrite(Action<HistoryStore> write)
    {
        try
        {
            if (_store is null)
            {
                _store = HistoryStore.Open(path!, _agent);
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
            Fail($"{_shown}: {e.Message}");
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
        log.HistoryHealed(_shown);
    }
}
