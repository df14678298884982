using Polly;
using Polly.Timeout;
using ReachProbe.Settings;

namespace ReachProbe.Probes;

/// <summary>
/// Runs a probe under a Polly per-attempt timeout (an <see cref="IEngineProbe"/> under its engine's). No retry strategy,
/// by design: loss must stay visible.
/// </summary>
public sealed class ProbeRunner
{
    /// <summary>The per-attempt timeout's range, in seconds.</summary>
    public static readonly ValueRange TimeoutSeconds = new(0.01, 60);

    private readonly ResiliencePipeline _pipeline;
    private readonly TimeProvider _time;

    /// <summary>Creates a runner with the given per-attempt timeout (<see cref="TimeoutSeconds"/>), timed by <paramref name="time"/>.</summary>
    public ProbeRunner(TimeSpan timeout, TimeProvider? time = null)
    {
        if (!TimeoutSeconds.Contains(timeout.TotalSeconds))
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, $"probe timeout must be {TimeoutSeconds.Text} s");
        Timeout = timeout;
        _time = time ?? TimeProvider.System;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = _time }.AddTimeout(timeout).Build();
    }

    /// <summary>The reason of an answer that came after the deadline: a timeout, since late is lost.</summary>
    public static string AnsweredLate(TimeSpan elapsed) => $"answered late, after {elapsed.TotalMilliseconds:0} ms";

    /// <summary>The per-attempt timeout.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Runs one attempt; a timeout or an unexpected fault becomes a result, never an exception (except cancellation by the caller).</summary>
    public async Task<ProbeResult> RunAsync(IProbe probe, CancellationToken cancellation = default)
    {
        // ICMP and ARP: their engine sends the attempt and one sweep times it out; no pipeline, timer or task per attempt.
        if (probe is IEngineProbe engine) return await EngineProbe.RunAsync(engine, Timeout).WaitAsync(cancellation).ConfigureAwait(false);
        var started = _time.GetTimestamp();
        try
        {
            var result = await _pipeline.ExecuteAsync(async ct => await probe.ProbeAsync(ct).ConfigureAwait(false), cancellation).ConfigureAwait(false);
            // The timeout is cooperative: on a busy machine an answer can slip in after the deadline. Late is lost.
            var elapsed = _time.GetElapsedTime(started);
            return result.ProvesReceipt && elapsed > Timeout
                ? result with { Status = ProbeStatus.Timeout, Duration = elapsed, Reason = AnsweredLate(elapsed) }
                : result;
        }
        catch (TimeoutRejectedException)
        {
            return new ProbeResult(probe.Name, ProbeStatus.Timeout, _time.GetElapsedTime(started), "timeout");
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return new ProbeResult(probe.Name, ProbeStatus.Timeout, _time.GetElapsedTime(started), "timeout");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new ProbeResult(probe.Name, ProbeStatus.Error, _time.GetElapsedTime(started), e.Message);
        }
    }
}
