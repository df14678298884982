using ReachProbe.Probes;

namespace ReachProbe.Tests.Probes;

public class ProbeRunnerTests
{
    private sealed class ScriptedProbe(Func<CancellationToken, Task<ProbeResult>> run) : IProbe
    {
        public int Calls { get; private set; }
        public string Name => "scripted";
        public Task<ProbeResult> ProbeAsync(CancellationToken cancellation)
        {
            Calls++;
            return run(cancellation);
        }
        public void Dispose() { }
    }

    [Fact]
    public async Task RunAsync_ProbeThatNeverAnswers_IsATimeoutNotAnException_AndIsNotRetried()
    {
        var probe = new ScriptedProbe(async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("unreachable");
        });
        var result = await new ProbeRunner(TimeSpan.FromMilliseconds(50)).RunAsync(probe);
        Assert.Equal(ProbeStatus.Timeout, result.Status);
        Assert.Equal("timeout", result.Reason);
        Assert.Equal(1, probe.Calls);
    }

    [Fact]
    public async Task RunAsync_ProbeThatThrows_IsAnErrorWithTheMessage()
    {
        var probe = new ScriptedProbe(_ => throw new IOException("disk on fire"));
        var result = await new ProbeRunner(TimeSpan.FromSeconds(1)).RunAsync(probe);
        Assert.Equal(ProbeStatus.Error, result.Status);
        Assert.Equal("disk on fire", result.Reason);
    }

    [Fact]
    public async Task RunAsync_CallerCancels_Propagates()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var probe = new ScriptedProbe(async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return null!;
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new ProbeRunner(TimeSpan.FromSeconds(1)).RunAsync(probe, cts.Token));
    }

    [Fact]
    public async Task RunAsync_AnswerThatIgnoresCancellationAndComesLate_IsATimeout()
    {
        var probe = new ScriptedProbe(async _ =>
        {
            await Task.Delay(200, CancellationToken.None);
            return new ProbeResult("scripted", ProbeStatus.Answered, TimeSpan.FromMilliseconds(200), "ok");
        });
        var result = await new ProbeRunner(TimeSpan.FromMilliseconds(50)).RunAsync(probe);
        Assert.Equal(ProbeStatus.Timeout, result.Status);
        Assert.StartsWith("answered late, after ", result.Reason);
    }

    [Fact]
    public async Task RunAsync_OnAFakeClock_TimesOutWhenTheClockSaysSo()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var probe = new ScriptedProbe(async ct =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return null!;
        });
        var run = new ProbeRunner(TimeSpan.FromSeconds(30), clock).RunAsync(probe);
        await Task.Delay(50);
        Assert.False(run.IsCompleted); // 30 s have not passed on the probe's clock
        clock.Advance(TimeSpan.FromSeconds(30));
        var result = await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ProbeStatus.Timeout, result.Status);
        Assert.Equal(TimeSpan.FromSeconds(30), result.Duration);
    }

    [Theory]
    [InlineData(0.001)]
    [InlineData(61)]
    public void Constructor_TimeoutOutOfRange_Throws(double seconds) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProbeRunner(TimeSpan.FromSeconds(seconds)));
}
