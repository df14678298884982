using System.Runtime.CompilerServices;

namespace ReachProbe.Probes;

/// <summary>
/// Times out the attempts of the shared engines with one timer for all of them: attempts are queued by deadline and one
/// sweep every <see cref="Period"/> expires the due ones. A thousand targets probed every second would otherwise make
/// and cancel two thousand timers a second (a cancellation source and a timer-queue entry each), which with the task per
/// attempt around them cost a fifth of the agent's CPU. The one timer is armed for the earliest deadline, but never
/// sooner than <see cref="Period"/> after the last sweep: at most 100 wake-ups a second however many attempts are out,
/// and for one target only one at each of its deadlines. An attempt expires at most one period after its deadline.
/// </summary>
public sealed class DeadlineSweep : IDisposable
{
    /// <summary>How often due attempts are expired.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(10);

    private static readonly ConditionalWeakTable<TimeProvider, DeadlineSweep> Sweeps = new();

    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly PriorityQueue<Action, long> _due = new();
    private ITimer? _timer;
    private long _armedFor = long.MaxValue; // when the timer will sweep next (a timestamp); MaxValue: not armed
    private long _lastSweep = long.MinValue / 2;

    private DeadlineSweep(TimeProvider time) => _time = time;

    /// <summary>The sweep of a clock (one per <see cref="TimeProvider"/>: the system's, or a test's fake one).</summary>
    public static DeadlineSweep For(TimeProvider time) => Sweeps.GetValue(time, t => new DeadlineSweep(t));

    /// <summary>Attempts waiting for their deadline.</summary>
    public int Pending
    {
        get
        {
            lock (_gate) return _due.Count;
        }
    }

    /// <summary>
    /// Calls <paramref name="expire"/> once <paramref name="timeout"/> has passed from <paramref name="startedTimestamp"/>
    /// (a <see cref="TimeProvider.GetTimestamp"/>). It is called whether or not the attempt was answered meanwhile: the
    /// attempt decides (its first completion wins).
    /// </summary>
    public void Add(long startedTimestamp, TimeSpan timeout, Action expire)
    {
        var deadline = startedTimestamp + (long)(timeout.TotalSeconds * _time.TimestampFrequency);
        lock (_gate)
        {
            _due.Enqueue(expire, deadline);
            if (deadline < _armedFor) Arm(deadline);
        }
    }

    /// <summary>Sets the timer for <paramref name="deadline"/>, but not sooner than a period after the last sweep. Under the lock.</summary>
    private void Arm(long deadline)
    {
        var at = Math.Max(deadline, _lastSweep + (long)(Period.TotalSeconds * _time.TimestampFrequency));
        var wait = TimeSpan.FromSeconds(Math.Max(0, at - _time.GetTimestamp()) / (double)_time.TimestampFrequency);
        _timer ??= _time.CreateTimer(static s => ((DeadlineSweep)s!).Sweep(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _timer.Change(wait, Timeout.InfiniteTimeSpan);
        _armedFor = at;
    }

    /// <summary>How many times the timer has swept (its wake-ups).</summary>
    internal long WakeUps { get; private set; }

    private void Sweep()
    {
        var now = _time.GetTimestamp();
        List<Action>? expired = null;
        lock (_gate)
        {
            _lastSweep = now;
            _armedFor = long.MaxValue;
            WakeUps++;
            while (_due.TryPeek(out var expire, out var deadline) && deadline <= now)
            {
                _due.Dequeue();
                (expired ??= []).Add(expire);
            }
            // The next deadline, if any; nothing left to time: no wake-ups until the next attempt.
            if (_due.TryPeek(out _, out var next)) Arm(next);
        }
        // Outside the lock: an expiry hands a result on, which may start work of its own.
        if (expired is not null) foreach (var expire in expired) expire();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate)
        {
            _timer?.Dispose();
            _timer = null;
            _armedFor = long.MaxValue;
            _due.Clear();
        }
    }
}
