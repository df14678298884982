namespace ReachProbe.Verdict;

/// <summary>How often, and first when, each kind of evidence was seen during an incident.</summary>
public sealed class EvidenceCounts
{
    private static readonly int KindCount = Enum.GetValues<EvidenceKind>().Length;
    private readonly long[] _counts = new long[KindCount];
    private readonly long[] _first = new long[KindCount];

    /// <summary>Unanswered ARP who-has for the target that were broadcast (the rest of <see cref="EvidenceKind.ArpForTargetUnanswered"/> were unicast).</summary>
    public long ArpUnansweredBroadcast { get; private set; }

    /// <summary>Time of the first unicast unanswered who-has, 0 if none.</summary>
    public long FirstArpUnicast { get; private set; }

    /// <summary>Time of the first broadcast unanswered who-has, 0 if none.</summary>
    public long FirstArpBroadcast { get; private set; }

    /// <summary>Counts one piece of evidence.</summary>
    public void Add(in Evidence e)
    {
        var i = (int)e.Kind;
        if (_counts[i]++ == 0 || e.Time < _first[i]) _first[i] = e.Time;
        if (e.Kind != EvidenceKind.ArpForTargetUnanswered) return;
        if (e.Broadcast)
        {
            ArpUnansweredBroadcast++;
            if (FirstArpBroadcast == 0 || e.Time < FirstArpBroadcast) FirstArpBroadcast = e.Time;
        }
        else if (FirstArpUnicast == 0 || e.Time < FirstArpUnicast)
        {
            FirstArpUnicast = e.Time;
        }
    }

    /// <summary>A copy of these counts, to keep as they are now.</summary>
    public EvidenceCounts Copy()
    {
        var c = new EvidenceCounts();
        c.Merge(this);
        return c;
    }

    /// <summary>Adds all of <paramref name="other"/> to this.</summary>
    public void Merge(EvidenceCounts other)
    {
        for (var i = 0; i < KindCount; i++)
        {
            if (other._counts[i] == 0) continue;
            if (_counts[i] == 0 || other._first[i] < _first[i]) _first[i] = other._first[i];
            _counts[i] += other._counts[i];
        }
        ArpUnansweredBroadcast += other.ArpUnansweredBroadcast;
        if (other.FirstArpBroadcast != 0 && (FirstArpBroadcast == 0 || other.FirstArpBroadcast < FirstArpBroadcast)) FirstArpBroadcast = other.FirstArpBroadcast;
        if (other.FirstArpUnicast != 0 && (FirstArpUnicast == 0 || other.FirstArpUnicast < FirstArpUnicast)) FirstArpUnicast = other.FirstArpUnicast;
    }

    /// <summary>How many of this kind were seen.</summary>
    public long this[EvidenceKind kind] => _counts[(int)kind];

    /// <summary>When the first of this kind was seen (UTC ticks), or null.</summary>
    public long? FirstTime(EvidenceKind kind) => _counts[(int)kind] == 0 ? null : _first[(int)kind];
}
