using Microsoft.Extensions.Time.Testing;

namespace ReachProbe.Tests.Verdict;

/// <summary>A device's verdict over its addresses' verdicts: scripted timelines on a fake clock, one engine per family.</summary>
public class DeviceVerdictTests
{
    private static readonly DateTimeOffset Zero = new(2026, 3, 14, 20, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _clock = new(Zero);
    private readonly TargetVerdict _v4, _v6;
    private readonly DeviceVerdict _device = new();
    private readonly List<StateChange> _raised = [];

    public DeviceVerdictTests()
    {
        _v4 = new TargetVerdict(new VerdictOptions(), _clock);
        _v6 = new TargetVerdict(new VerdictOptions(), _clock);
        _v4.StateChanged += c => Raise(_device.Update(_v4, c));
        _v6.StateChanged += c => Raise(_device.Update(_v6, c));
    }

    private void Raise(StateChange? c)
    {
        if (c is { } change) _raised.Add(change);
    }

    private static long T(double seconds) => Zero.UtcTicks + (long)(seconds * TimeSpan.TicksPerSecond);

    private void Feed(TargetVerdict v, EvidenceKind kind, double at, double? known = null)
    {
        var now = Zero.AddTicks((long)((known ?? at) * TimeSpan.TicksPerSecond));
        if (now > _clock.GetUtcNow()) _clock.Advance(now - _clock.GetUtcNow());
        v.Observe(new Evidence(kind, T(at)));
    }

    /// <summary>A second of a device's life on one family: it transmits, and answers (or not) our echo.</summary>
    private void Second(TargetVerdict v, double t, bool answers)
    {
        Feed(v, EvidenceKind.FrameFromTarget, t + 0.0004);
        Feed(v, answers ? EvidenceKind.EchoAnswered : EvidenceKind.EchoUnanswered, t + 0.0005, t + 1.0);
    }

    private void Both(double from, double to, bool v4Answers, bool v6Answers)
    {
        for (var t = from; t < to; t += 1)
        {
            Second(_v4, t, v4Answers);
            Second(_v6, t, v6Answers);
        }
    }

    [Fact]
    public void OneAddress_ChangesAndIncidentsAreExactlyItsOwn()
    {
        _device.Add(_v4, T(0), T(0));
        for (var t = 0; t < 10; t++) Second(_v4, t, true);
        for (var t = 10; t < 20; t++) Second(_v4, t, false);   // deaf
        Feed(_v4, EvidenceKind.Silence, 30);                   // then silent: down (a second incident)
        Feed(_v4, EvidenceKind.MonitorBlind, 40);              // the monitor blind: closed, unknown
        Feed(_v4, EvidenceKind.MonitorSighted, 41);
        for (var t = 41; t < 45; t++) Second(_v4, t, true);
        for (var t = 45; t < 50; t++) Second(_v4, t, false);   // deaf again
        for (var t = 50; t < 52; t++) Second(_v4, t, true);    // recovered

        Assert.Equal(_v4.Changes.Select(c => (c.State, c.At, c.Cause)), _device.Changes.Select(c => (c.State, c.At, c.Cause)));
        Assert.Equal(_v4.Incidents.Select(i => (i.State, i.Start, i.End, i.EndReason, i.RecoveredBy)),
            _device.Incidents.Select(i => (i.State, i.Start, i.End, i.EndReason, i.RecoveredBy)));
        Assert.Equal(3, _device.Incidents.Count);
        Assert.Equal(_v4.Incidents.Select(i => i.Evidence[EvidenceKind.EchoUnanswered]), _device.Incidents.Select(i => i.Evidence[EvidenceKind.EchoUnanswered]));
        Assert.Equal(TargetState.Up, _device.State);
    }

    [Fact]
    public void DeafOnIPv4Only_IsUp_ItsIPv4VerdictSaysDeaf()
    {
        _device.Add(_v4, T(0), T(0));
        _device.Add(_v6, T(0), T(0));
        Both(0, 10, true, true);
        Both(10, 30, false, true);
        Assert.Equal(TargetState.Deaf, _v4.State);
        Assert.Equal(TargetState.Up, _v6.State);
        Assert.Equal(TargetState.Up, _device.State);
        Assert.Empty(_device.Incidents);
        Assert.Equal([TargetState.Up], _raised.Select(c => c.State));
    }

    [Fact]
    public void DeafOnBoth_OneIncident_FromWhenItStoppedAnsweringTheLast_EndsWhenEitherAnswers()
    {
        _device.Add(_v4, T(0), T(0));
        _device.Add(_v6, T(0), T(0));
        Both(0, 10, true, true);
        Both(10, 15, false, true);  // IPv4 deaf first: the device still hears on IPv6
        Both(15, 30, false, false); // then IPv6 too
        Assert.Equal(TargetState.Deaf, _device.State);
        var open = Assert.Single(_device.Incidents);
        Assert.Equal(TargetState.Deaf, open.State);
        Assert.Equal(_v6.Incidents.Single().Start, open.Start);
        Assert.True(open.Start >= T(15));
        Both(30, 32, false, true);  // IPv6 answers again: it hears
        Assert.Equal(TargetState.Up, _device.State);
        var closed = Assert.Single(_device.Incidents);
        Assert.Equal(IncidentEnd.Recovered, closed.EndReason);
        Assert.Equal(_v6.Incidents.Single().End, closed.End);
        // Its evidence is both families' while it lasted.
        Assert.True(closed.Evidence[EvidenceKind.EchoUnanswered] > _v6.Incidents.Single().Evidence[EvidenceKind.EchoUnanswered]);
        Assert.Equal([TargetState.Up, TargetState.Deaf, TargetState.Up], _raised.Select(c => c.State));
    }

    [Fact]
    public void LinkDown_BothDown_OneIncident_ClosedOnce()
    {
        _device.Add(_v4, T(0), T(0));
        _device.Add(_v6, T(0), T(0));
        Both(0, 10, true, true);
        Feed(_v4, EvidenceKind.TargetLinkDown, 10);
        Feed(_v6, EvidenceKind.TargetLinkDown, 10);
        Assert.Equal(TargetState.Down, _device.State);
        Assert.True(_device.IsLinkDown);
        Feed(_v4, EvidenceKind.TargetLinkUp, 20);
        Feed(_v6, EvidenceKind.TargetLinkUp, 20);
        Both(21, 23, true, true);
        var incident = Assert.Single(_device.Incidents);
        Assert.Equal((TargetState.Down, T(10), IncidentEnd.Recovered), (incident.State, incident.Start, incident.EndReason));
        Assert.Equal([TargetState.Up, TargetState.Down, TargetState.Up], _raised.Select(c => c.State));
    }

    [Fact]
    public void AnAddressLearnedLater_JoinsWithoutAChange_AndLeaving_ItClosesWhatItLed()
    {
        _device.Add(_v4, T(0), T(0));
        for (var t = 0; t < 5; t++) Second(_v4, t, true);
        Assert.Null(_device.Add(_v6, T(5), T(5))); // unknown beside up: still up
        for (var t = 5; t < 20; t++) { Second(_v4, t, false); Second(_v6, t, false); }
        Assert.Equal(TargetState.Deaf, _device.State);
        // The IPv4 address given up (the device moved away): its IPv6 verdict carries the device on.
        _device.Remove(_v4, T(20), T(20));
        Assert.Equal(TargetState.Deaf, _device.State);
        Assert.Null(Assert.Single(_device.Incidents).End);
        _device.Remove(_v6, T(21), T(21));
        Assert.Equal(TargetState.Unknown, _device.State);
        Assert.Equal(T(21), Assert.Single(_device.Incidents).End);
    }
}
