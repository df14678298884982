using System.Net;
using System.Net.Sockets;

namespace ReachProbe.Probes;

/// <summary>
/// PlayStation discovery, unicast to the target: the PS5 search to UDP 9302 from local port 9303 (9303–9319 when busy)
/// and the PS4 search to UDP 987, through the process's one DDP socket (<see cref="DdpEngine"/>). The console answers
/// from an ephemeral port; an awake (200) or standby (620) answer both prove it receives.
/// </summary>
public sealed class DdpProbe(IPAddress target, TimeProvider? time = null) : IEngineProbe
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <inheritdoc/>
    public string Name => "ddp";

    /// <inheritdoc/>
    public void Start(TimeSpan timeout, Action<ProbeResult> done)
    {
        var started = _time.GetTimestamp();
        var finished = 0;
        void Finish(ProbeResult r)
        {
            if (Interlocked.Exchange(ref finished, 1) == 0) done(r);
        }
        Action<DdpInfo> onAnswer = info =>
        {
            var elapsed = _time.GetElapsedTime(started);
            Finish(elapsed > timeout
                ? new ProbeResult(Name, ProbeStatus.Timeout, elapsed, ProbeRunner.AnsweredLate(elapsed))
                : new ProbeResult(Name, ProbeStatus.Answered, elapsed, info.Status switch
                {
                    ConsoleStatus.Awake => "awake",
                    ConsoleStatus.Standby => "standby",
                    _ => $"status {info.StatusCode}",
                }) { Console = info });
        };
        if (DdpEngine.Shared.Search(target, onAnswer) is { } problem)
        {
            Finish(new ProbeResult(Name, problem == DdpEngine.Unreachable ? ProbeStatus.Unreachable : ProbeStatus.Error, _time.GetElapsedTime(started), problem));
            return;
        }
        DeadlineSweep.For(_time).Add(started, timeout, () =>
        {
            DdpEngine.Shared.Forget(target, onAnswer);
            Finish(new ProbeResult(Name, ProbeStatus.Timeout, _time.GetElapsedTime(started), "timeout"));
        });
    }

    /// <inheritdoc/>
    public Task<ProbeResult> ProbeAsync(CancellationToken cancellation) => EngineProbe.UntilCancelledAsync(this, cancellation);

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
