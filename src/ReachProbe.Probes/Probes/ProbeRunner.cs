using System.Diagnostics;
using Polly;
using Polly.Timeout;

namespace ReachProbe.Probes;

/// <summary>Runs a probe under a Polly per-attempt timeout. No retry strategy, by design: loss must stay visible.</summary>
public sealed class ProbeRunner
{
    private readonly ResiliencePipeline _pipeline;

    /// <summary>Creates a runner with the given per-attempt timeout (0.01–60 s).</summary>
    public ProbeRunner(TimeSpan timeout)
    {
        if (timeout < TimeSpan.FromMilliseconds(10) || timeout > TimeSpan.FromSeconds(60))
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "probe timeout must be 0.01–60 s");
        Timeout = timeout;
        _pipeline = new ResiliencePipelineBuilder().AddTimeout(timeout).Build();
    }

    /// <summary>The per-attempt timeout.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Runs one attempt; a timeout or an unexpected fault becomes a result, never an exception (except cancellation by the caller).</summary>
    public async Task<ProbeResult> RunAsync(IProbe probe, CancellationToken cancellation = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await _pipeline.ExecuteAsync(async ct => await probe.ProbeAsync(ct).ConfigureAwait(false), cancellation).ConfigureAwait(false);
            // The timeout is cooperative: on a busy machine an answer can slip in after the deadline. Late is lost.
            var elapsed = Stopwatch.GetElapsedTime(started);
            return result.ProvesReceipt && elapsed > Timeout
                ? result with { Status = ProbeStatus.Timeout, Duration = elapsed, Reason = $"answered late, after {elapsed.TotalMilliseconds:0} ms" }
                : result;
        }
        catch (TimeoutRejectedException)
        {
            return new ProbeResult(probe.Name, ProbeStatus.Timeout, Stopwatch.GetElapsedTime(started), "timeout");
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return new ProbeResult(probe.Name, ProbeStatus.Timeout, Stopwatch.GetElapsedTime(started), "timeout");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new ProbeResult(probe.Name, ProbeStatus.Error, Stopwatch.GetElapsedTime(started), e.Message);
        }
    }
}
