namespace ReachProbe.Wire;

/// <summary>
/// A table of remembered requests with a hard bound: when full, the oldest entry is evicted, so a flood costs
/// memory proportional to <see cref="Capacity"/>, not to the flood. Entries also expire by their timestamp.
/// </summary>
/// <remarks>
/// Invariant: every live entry has exactly one queue item with its sequence number; queue items whose key is gone or
/// carries a newer sequence are stale and skipped. The queue is compacted when stale items outnumber live ones 3:1.
/// </remarks>
public sealed class BoundedTable<TKey, TValue> where TKey : notnull
{
    private readonly Dictionary<TKey, Entry> _entries = [];
    private readonly Queue<(TKey Key, long Seq)> _order = new();
    private long _seq;

    private struct Entry
    {
        public TValue Value;
        public long Stamp;
        public long Seq;
    }

    /// <summary>Creates a table holding at most <paramref name="capacity"/> entries.</summary>
    public BoundedTable(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    /// <summary>The bound.</summary>
    public int Capacity { get; }

    /// <summary>Live entries.</summary>
    public int Count => _entries.Count;

    /// <summary>Entries evicted because the table was full.</summary>
    public long Evicted { get; private set; }

    /// <summary>Looks an entry up.</summary>
    public bool TryGet(TKey key, out TValue value, out long stamp)
    {
        if (_entries.TryGetValue(key, out var e))
        {
            value = e.Value;
            stamp = e.Stamp;
            return true;
        }
        value = default!;
        stamp = 0;
        return false;
    }

    /// <summary>Adds or replaces an entry; <paramref name="stamp"/> is the time its expiry counts from.</summary>
    public void Set(TKey key, TValue value, long stamp)
    {
        if (!_entries.ContainsKey(key))
        {
            while (_entries.Count >= Capacity && _order.TryDequeue(out var old))
            {
                if (_entries.TryGetValue(old.Key, out var oe) && oe.Seq == old.Seq)
                {
                    _entries.Remove(old.Key);
                    Evicted++;
                }
            }
        }
        var seq = ++_seq;
        _entries[key] = new Entry { Value = value, Stamp = stamp, Seq = seq };
        _order.Enqueue((key, seq));
        if (_order.Count > 4 * Math.Max(_entries.Count, 16)) Compact();
    }

    /// <summary>Items in the expiry queue, live and stale (for tests of the bound).</summary>
    internal int QueueLength => _order.Count;

    /// <summary>Removes every entry (none is expired: nothing is reported of them).</summary>
    public void Clear()
    {
        _entries.Clear();
        _order.Clear();
    }

    /// <summary>Removes an entry; true when it was there.</summary>
    public bool Remove(TKey key) => _entries.Remove(key);

    /// <summary>
    /// Removes entries stamped before <paramref name="cutoff"/>, oldest first, calling <paramref name="expired"/> for each.
    /// Entries are assumed to be stamped in roughly increasing order (capture time); one stamped out of order waits
    /// behind newer ones, never longer than the bound allows.
    /// </summary>
    public void Expire(long cutoff, Action<TKey, TValue, long>? expired)
    {
        while (_order.TryPeek(out var head))
        {
            if (!_entries.TryGetValue(head.Key, out var e) || e.Seq != head.Seq)
            {
                _order.Dequeue();
                continue;
            }
            if (e.Stamp >= cutoff) break;
            _order.Dequeue();
            _entries.Remove(head.Key);
            expired?.Invoke(head.Key, e.Value, e.Stamp);
        }
    }

    private void Compact()
    {
        var live = new List<(TKey Key, long Seq)>(_entries.Count);
        foreach (var (key, e) in _entries) live.Add((key, e.Seq));
        live.Sort((a, b) => a.Seq.CompareTo(b.Seq));
        _order.Clear();
        foreach (var item in live) _order.Enqueue(item);
    }
}
