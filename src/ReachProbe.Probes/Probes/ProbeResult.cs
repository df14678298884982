namespace ReachProbe.Probes;

/// <summary>How one probe attempt ended. Failure is a value, never an exception.</summary>
public enum ProbeStatus : byte
{
    /// <summary>The target answered.</summary>
    Answered,
    /// <summary>The target refused (a TCP RST, an ICMP unreachable from the target itself): it is alive and receives.</summary>
    Refused,
    /// <summary>No answer within the timeout.</summary>
    Timeout,
    /// <summary>An ICMP error or the kernel said the target cannot be reached.</summary>
    Unreachable,
    /// <summary>The monitor could not probe (no permission, no route, resolver down …).</summary>
    Error,
}

/// <summary>Console status from the discovery protocol.</summary>
public enum ConsoleStatus : byte
{
    /// <summary>Not a console answer.</summary>
    None,
    /// <summary>200: awake.</summary>
    Awake,
    /// <summary>620: rest mode (standby).</summary>
    Standby,
    /// <summary>Another status code.</summary>
    Other,
}

/// <summary>The outcome of one probe attempt.</summary>
/// <param name="Probe">Probe name as given (e.g. "icmp", "tcp:9295").</param>
/// <param name="Status">How it ended.</param>
/// <param name="Duration">How long it took (the round-trip time when answered), measured with a monotonic clock.</param>
/// <param name="Reason">A short human reason ("timeout", "refused — host receives", "NXDOMAIN", …).</param>
public sealed record ProbeResult(string Probe, ProbeStatus Status, TimeSpan Duration, string Reason)
{
    /// <summary>True when the target showed that it receives (answered or refused).</summary>
    public bool ProvesReceipt => Status is ProbeStatus.Answered or ProbeStatus.Refused;

    /// <summary>ARP: the MAC that answered.</summary>
    public string? Mac { get; init; }

    /// <summary>Warning to surface (e.g. ARP answered from a different MAC than before).</summary>
    public string? Warning { get; init; }

    /// <summary>How late the scheduler started the attempt against its schedule (agent only).</summary>
    public TimeSpan ScheduleLag { get; init; }

    /// <summary>Rounds of this probe the scheduler skipped just before this attempt (agent only).</summary>
    public int MissedRounds { get; init; }

    /// <summary>The ICMP echo sequence number of the attempt (ICMP probes), to find its reply on the wire.</summary>
    public ushort? EchoSequence { get; init; }

    /// <summary>Another MAC that answered for the target's address (ARP): a duplicate address or a spoofer; never proof.</summary>
    public string? ConflictMac { get; init; }

    /// <summary>DNS: the response code name (NOERROR, NXDOMAIN, REFUSED, SERVFAIL …).</summary>
    public string? DnsRcode { get; init; }

    /// <summary>ICMP errors: who sent the error, type and code.</summary>
    public string? ErrorFrom { get; init; }

    /// <summary>Console discovery: what the console said.</summary>
    public DdpInfo? Console { get; init; }
}
