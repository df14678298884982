namespace ReachProbe.Probes;

/// <summary>
/// One active probe of one target. Implementations send one request per call, wait for its answer until the token is
/// cancelled, and return a <see cref="ProbeResult"/>: they never throw for a network outcome and never retry (a lost
/// probe must stay visible — blackbox_exporter #320). The per-attempt timeout is applied by <see cref="ProbeRunner"/>.
/// </summary>
public interface IProbe : IDisposable
{
    /// <summary>Name as configured, e.g. "icmp", "tcp:9295".</summary>
    string Name { get; }

    /// <summary>Sends one probe and waits for its answer until <paramref name="cancellation"/> fires.</summary>
    Task<ProbeResult> ProbeAsync(CancellationToken cancellation);
}
