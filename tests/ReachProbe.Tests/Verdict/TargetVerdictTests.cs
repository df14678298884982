using Microsoft.Extensions.Time.Testing;

namespace ReachProbe.Tests.Verdict;

/// <summary>Scripted timelines: evidence at fake-clock times, as the trackers would emit it.</summary>
public class TargetVerdictTests
{
    private static readonly DateTimeOffset Zero = new(2026, 3, 14, 20, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _clock = new(Zero);
    private readonly TargetVerdict _engine;
    private readonly List<StateChange> _raised = [];

    public TargetVerdictTests()
    {
        _engine = new TargetVerdict(new VerdictOptions(), _clock);
        _engine.StateChanged += _raised.Add;
    }

    private static long T(double seconds) => Zero.UtcTicks + (long)(seconds * TimeSpan.TicksPerSecond);

    /// <summary>Advances the fake clock to <paramref name="known"/> and feeds evidence that happened at <paramref name="at"/>.</summary>
    private void Feed(EvidenceKind kind, double at, double? known = null, bool broadcast = false)
    {
        var now = Zero.AddTicks((long)((known ?? at) * TimeSpan.TicksPerSecond));
        if (now > _clock.GetUtcNow()) _clock.Advance(now - _clock.GetUtcNow());
        _engine.Observe(new Evidence(kind, T(at), broadcast));
    }

    private void Healthy(double from, double to)
    {
        for (var t = from; t < to; t += 1)
        {
            Feed(EvidenceKind.FrameFromTarget, t + 0.0004);
            Feed(EvidenceKind.EchoAnswered, t + 0.0004);
        }
    }

    [Fact]
    public void Observe_MacCloned_AnswersProveNothing_UnknownUntilUncloned_DownOnItsOwnLink()
    {
        Healthy(0, 10);
        Feed(EvidenceKind.MacCloned, 10);
        Assert.Equal(TargetState.Unknown, _engine.State);
        // The clone answers everything and the real console is deaf: nothing of it is weighed.
        Healthy(10, 30);
        for (var t = 10; t < 20; t++) Feed(EvidenceKind.EchoUnanswered, t, t + 2);
        Assert.Equal(TargetState.Unknown, _engine.State);
        // The learned port's link is still its own: unplugged is down, plugged back is unknown again.
        Feed(EvidenceKind.TargetLinkDown, 30);
        Healthy(30, 35);
        Assert.Equal(TargetState.Down, _engine.State);
        Feed(EvidenceKind.TargetLinkUp, 35);
        Assert.Equal(TargetState.Unknown, _engine.State);
        // The clone gone (or the port move taken): answers count again.
        Feed(EvidenceKind.MacUncloned, 40);
        Healthy(40, 42);
        Assert.Equal(TargetState.Up, _engine.State);
        Assert.Equal([TargetState.Up, TargetState.Unknown, TargetState.Down, TargetState.Unknown, TargetState.Up], _raised.Select(c => c.State));
        var down = Assert.Single(_engine.Incidents);
        Assert.Equal((TargetState.Down, T(30), T(35)), (down.State, down.Start, down.End));
    }

    [Fact]
    public void Observe_MacClonedWhileItsLinkIsDown_StaysDown()
    {
        Healthy(0, 10);
        Feed(EvidenceKind.TargetLinkDown, 10);
        Feed(EvidenceKind.MacCloned, 11);
        Healthy(11, 20);
        Assert.Equal(TargetState.Down, _engine.State);
    }

    [Fact]
    public void Observe_NoEvidence_IsUnknown()
    {
        Assert.Equal(TargetState.Unknown, _engine.State);
        Assert.Empty(_engine.Changes);
    }

    [Fact]
    public void Observe_FirstAnswer_IsUp()
    {
        Feed(EvidenceKind.EchoAnswered, 1);
        Assert.Equal(TargetState.Up, _engine.State);
        Assert.Equal(new StateChange(TargetState.Up, T(1), T(1), EvidenceKind.EchoAnswered), Assert.Single(_raised));
    }

    [Fact]
    public void Observe_UnansweredButTransmitting_IsDeafFromTheFirstUnanswered_DecidedLater()
    {
        Healthy(0, 10);
        // Requests at 10, 11, 12 go unanswered; each is known 2 s later. The target keeps sending DNS queries.
        for (var t = 10; t < 13; t++)
        {
            Feed(EvidenceKind.FrameFromTarget, t + 0.5);
            Feed(EvidenceKind.EchoUnanswered, t, known: t + 2);
        }
        Assert.Equal(TargetState.Deaf, _engine.State);
        var change = _raised[^1];
        Assert.Equal(T(10), change.At);
        Assert.Equal(T(14), change.DecidedAt);
        var incident = Assert.Single(_engine.Incidents);
        Assert.Equal(T(10), incident.Start);
        Assert.Null(incident.End);
        Assert.Equal(3, incident.Evidence[EvidenceKind.EchoUnanswered]);
    }

    [Fact]
    public void Observe_BelowThreshold_StaysUp()
    {
        Healthy(0, 10);
        Feed(EvidenceKind.EchoUnanswered, 10, known: 12);
        Feed(EvidenceKind.EchoUnanswered, 11, known: 13);
        Feed(EvidenceKind.EchoAnswered, 12.0004);
        Feed(EvidenceKind.EchoUnanswered, 13, known: 15);
        Feed(EvidenceKind.EchoUnanswered, 14, known: 16);
        Assert.Equal(TargetState.Up, _engine.State);
        Assert.Empty(_engine.Incidents);
    }

    [Fact]
    public void Observe_UnansweredAndSilent_IsDown()
    {
        Healthy(0, 10);
        for (var t = 10; t < 14; t++) Feed(EvidenceKind.EchoUnanswered, t, known: t + 2);
        Assert.Equal(TargetState.Down, _engine.State);
        Assert.Equal(T(10), Assert.Single(_engine.Incidents).Start);
    }

    [Fact]
    public void Observe_LastFrameJustAfterTheFirstUnansweredRequest_IsStillDown()
    {
        // The host died at 10.3 s: a request at 10.0 s went unanswered, its last chatter left at 10.2 s.
        Healthy(0, 10);
        Feed(EvidenceKind.FrameFromTarget, 10.2);
        for (var t = 10; t < 13; t++) Feed(EvidenceKind.EchoUnanswered, t, known: t + 2);
        Assert.Equal(TargetState.Down, _engine.State);
    }

    [Fact]
    public void Observe_ThreeProbesLostInOneRound_WaitsForAFrameBeforeCallingItDown()
    {
        Healthy(0, 10);
        // The agent's icmp, arp and ddp probes of the round at 10 s all time out at 11 s.
        Feed(EvidenceKind.ProbeUnanswered, 10, known: 11);
        Feed(EvidenceKind.ProbeUnanswered, 10, known: 11);
        Feed(EvidenceKind.ProbeUnanswered, 10, known: 11);
        Assert.Equal(TargetState.Up, _engine.State); // not yet down: it may just not have transmitted yet
        Feed(EvidenceKind.FrameFromTarget, 11.4);     // its chatter: it is deaf
        Assert.Equal(TargetState.Deaf, _engine.State);
        Assert.Equal([TargetState.Up, TargetState.Deaf], _raised.Select(c => c.State));
    }

    [Fact]
    public void Observe_ThreeProbesLostAndSilent_IsDownAfterTheConfirmation()
    {
        Healthy(0, 10);
        for (var k = 0; k < 3; k++) Feed(EvidenceKind.ProbeUnanswered, 10, known: 11);
        Assert.Equal(TargetState.Up, _engine.State);
        Feed(EvidenceKind.ProbeUnanswered, 11, known: 12);
        Assert.Equal(TargetState.Down, _engine.State);
        Assert.Equal(T(10), Assert.Single(_engine.Incidents).Start);
    }

    [Fact]
    public void Tick_ConfirmationOver_DecidesWithoutWaitingForTheNextEvidence()
    {
        Healthy(0, 10);
        for (var k = 0; k < 3; k++) Feed(EvidenceKind.ProbeUnanswered, 10, known: 11);
        _clock.Advance(TimeSpan.FromSeconds(0.9)); // 11.9 s: the 2 s since the first unanswered attempt are not over
        _engine.Tick();
        Assert.Equal(TargetState.Up, _engine.State);
        _clock.Advance(TimeSpan.FromSeconds(0.15)); // 12.05 s
        _engine.Tick();
        Assert.Equal(TargetState.Down, _engine.State);
        // The same decision, from the same time, as the next evidence would have made.
        Assert.Equal(T(10), Assert.Single(_engine.Incidents).Start);
        Assert.Equal([TargetState.Up, TargetState.Down], _raised.Select(c => c.State));
    }

    [Fact]
    public void Tick_HealthyOrNotYetFailing_ChangesNothing()
    {
        Healthy(0, 10);
        Feed(EvidenceKind.ProbeUnanswered, 10, known: 11); // one lost probe: not failing
        _clock.Advance(TimeSpan.FromSeconds(30));
        _engine.Tick();
        Assert.Equal(TargetState.Up, _engine.State);
        Assert.Single(_raised);
    }

    [Fact]
    public void Observe_DownThenTransmitsSoon_IsRelabelledDeafFromTheStart()
    {
        Healthy(0, 10);
        for (var t = 10; t < 13; t++) Feed(EvidenceKind.EchoUnanswered, t, known: t + 2);
        Assert.Equal(TargetState.Down, _engine.State);
        Feed(EvidenceKind.FrameFromTarget, 20);
        Assert.Equal(TargetState.Deaf, _engine.State);
        var incident = Assert.Single(_engine.Incidents);
        Assert.Equal(TargetState.Deaf, incident.State);
        Assert.Equal(T(10), incident.Start);
        Assert.Equal([TargetState.Up, TargetState.Down, TargetState.Deaf], _raised.Select(c => c.State));
    }

    [Fact]
    public void Observe_DeafThenSilentForTheWindow_BecomesDown()
    {
        Healthy(0, 10);
        Feed(EvidenceKind.DnsRepeatedAfterAnswer, 10);
        Feed(EvidenceKind.FrameFromTarget, 10);
        Feed(EvidenceKind.SynRetransmittedAfterSynAck, 11);
        Feed(EvidenceKind.FrameFromTarget, 11);
        Feed(EvidenceKind.EchoUnanswered, 12, known: 14);
        Assert.Equal(TargetState.Deaf, _engine.State);
        Feed(EvidenceKind.Silence, 11, known: 41.5);
        Assert.Equal(TargetState.Down, _engine.State);
        Assert.Equal(2, _engine.Incidents.Count);
        Assert.Equal(IncidentEnd.StateChanged, _engine.Incidents[0].EndReason);
        Assert.Equal(T(11), _engine.Incidents[1].Start); // down from its last frame
    }

    [Fact]
    public void Observe_OnlyRepeatedOwnArp_IsDeafNotDown()
    {
        // Lab phase 3: nobody else tries; the target's own ARP is answered and asked again.
        for (var burst = 0; burst < 5; burst++)
        {
            var t = 1 + burst * 20;
            for (var k = 0; k < 3; k++) Feed(EvidenceKind.FrameFromTarget, t + k);
            Feed(EvidenceKind.ArpRepeatedAfterReply, t + 1);
            Feed(EvidenceKind.ArpRepeatedAfterReply, t + 2);
        }
        Assert.Equal(TargetState.Deaf, _engine.State);
        Assert.Equal(T(2), Assert.Single(_engine.Incidents).Start);
    }

    [Fact]
    public void Observe_AnswerEndsTheIncident()
    {
        Healthy(0, 10);
        for (var t = 10; t < 13; t++)
        {
            Feed(EvidenceKind.FrameFromTarget, t + 0.5);
            Feed(EvidenceKind.EchoUnanswered, t, known: t + 2);
        }
        Feed(EvidenceKind.GratuitousArp, 30);
        Assert.Equal(TargetState.Deaf, _engine.State); // an announcement is no answer
        Feed(EvidenceKind.EchoAnswered, 31);
        Assert.Equal(TargetState.Up, _engine.State);
        var incident = Assert.Single(_engine.Incidents);
        Assert.Equal(T(31), incident.End);
        Assert.Equal(IncidentEnd.Recovered, incident.EndReason);
        Assert.Equal(EvidenceKind.EchoAnswered, incident.RecoveredBy);
        Assert.Equal(1, incident.Evidence[EvidenceKind.GratuitousArp]);
    }

    [Fact]
    public void Observe_NegativeEvidenceOlderThanAnAnswer_IsStale()
    {
        Feed(EvidenceKind.EchoAnswered, 5);
        for (var t = 1; t < 5; t++) Feed(EvidenceKind.EchoUnanswered, t, known: 6);
        Assert.Equal(TargetState.Up, _engine.State);
    }

    [Fact]
    public void Observe_LinkDown_IsDownAtOnce()
    {
        Healthy(0, 5);
        Feed(EvidenceKind.TargetLinkDown, 5.5);
        Assert.Equal(TargetState.Down, _engine.State);
        Assert.Equal(T(5.5), Assert.Single(_engine.Incidents).Start);
        // Frames cannot come from a host whose link is down; stray ones must not flip it to deaf.
        for (var t = 6; t < 10; t++) Feed(EvidenceKind.EchoUnanswered, t, known: t + 2);
        Assert.Equal(TargetState.Down, _engine.State);
    }

    [Fact]
    public void Observe_AnswerWhileItsOwnLinkIsDown_IsNotItsOwn_StaysDownUntilTheLinkIsBack()
    {
        // A clone on another bridge port answers before the agent sees the MAC there (the database is read every 250 ms).
        Healthy(0, 5);
        Feed(EvidenceKind.TargetLinkDown, 5.5);
        Feed(EvidenceKind.ArpAnsweredByTarget, 5.6);
        Feed(EvidenceKind.ProbeAnswered, 5.7);
        Assert.Equal(TargetState.Down, _engine.State);
        Feed(EvidenceKind.TargetLinkUp, 6);
        Feed(EvidenceKind.EchoAnswered, 6.1);
        Assert.Equal([TargetState.Up, TargetState.Down, TargetState.Up], _raised.Select(c => c.State));
    }

    [Fact]
    public void Observe_LinkBackThenFrames_StaysDownUntilItAnswers()
    {
        Healthy(0, 5);
        Feed(EvidenceKind.TargetLinkDown, 5.5);
        for (var t = 6; t < 10; t++) Feed(EvidenceKind.EchoUnanswered, t, known: t + 2);
        Feed(EvidenceKind.TargetLinkUp, 12);
        Feed(EvidenceKind.FrameFromTarget, 12.1); // it announces itself before it answers
        Assert.Equal(TargetState.Down, _engine.State);
        Feed(EvidenceKind.EchoAnswered, 12.5);
        Assert.Equal([TargetState.Up, TargetState.Down, TargetState.Up], _raised.Select(c => c.State));
    }

    [Fact]
    public void Observe_MonitorBlind_IsUnknownAndClosesTheIncident()
    {
        Healthy(0, 5);
        for (var t = 5; t < 8; t++) Feed(EvidenceKind.EchoUnanswered, t, known: t + 2);
        Feed(EvidenceKind.MonitorBlind, 10);
        Assert.Equal(TargetState.Unknown, _engine.State);
        Assert.Equal(IncidentEnd.MonitorBlind, Assert.Single(_engine.Incidents).EndReason);
        // While blind, nothing counts; not even stale timeouts.
        for (var t = 11; t < 15; t++) Feed(EvidenceKind.EchoUnanswered, t, known: t + 2);
        Assert.Equal(TargetState.Unknown, _engine.State);
        Feed(EvidenceKind.MonitorSighted, 20);
        Feed(EvidenceKind.EchoAnswered, 21);
        Assert.Equal(TargetState.Up, _engine.State);
    }

    [Fact]
    public void Observe_HealthyWithFivePercentLoss_NeverLeavesUp()
    {
        var rng = new Random(1234);
        for (var t = 0; t < 3600; t++)
        {
            if (rng.NextDouble() < 0.05) Feed(EvidenceKind.EchoUnanswered, t, known: t + 2);
            else Feed(EvidenceKind.EchoAnswered, t + 0.0004);
        }
        Assert.Equal(TargetState.Up, _engine.State);
        Assert.Empty(_engine.Incidents);
        Assert.InRange(_engine.Totals[EvidenceKind.EchoUnanswered], 120, 240);
    }

    [Fact]
    public void Validate_OutOfRangeOptions_NamesEachProblem()
    {
        var problems = new VerdictOptions { NegativeEvidenceThreshold = 0, SilenceWindow = TimeSpan.Zero }.Validate();
        Assert.Equal(2, problems.Count);
        Assert.Contains("negativeEvidenceThreshold: must be a whole number (1–100), not 0", problems);
        Assert.Contains("silenceWindowSeconds: must be seconds (1–3600), not 0", problems);
    }

    [Fact]
    public void Observe_ProofStampedBeforeTheIncidentStart_NeverEndsItBeforeItStarts()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(TestFrames.T0, TimeSpan.Zero));
        var v = new TargetVerdict(new VerdictOptions(), clock);
        v.Observe(new Evidence(EvidenceKind.EchoAnswered, At(0)));
        for (var i = 0; i < 3; i++) v.Observe(new Evidence(EvidenceKind.DnsRepeatedAfterAnswer, At(10 + i * 0.001)));
        Assert.Equal(TargetState.Deaf, v.State);
        // A proof that happened 9 ms before the incident's start, known only now (its frame was queued behind).
        v.Observe(new Evidence(EvidenceKind.TcpAnsweredByTarget, At(9.991)));
        var incident = Assert.Single(v.Incidents);
        Assert.True(incident.End >= incident.Start, $"ends {incident.End - incident.Start} ticks before it starts");
    }

    // Switched view: the target's unicast traffic is invisible, so its silence is weak evidence.

    private void Switched()
    {
        _engine.Switched = true;
        Healthy(0, 10);
    }

    private void Unanswered(int from, int to)
    {
        for (var t = from; t < to; t++) Feed(EvidenceKind.ProbeUnanswered, t, known: t + 2);
    }

    [Fact]
    public void Switched_NotAnsweringNotSeen_IsUnresponsive_ThenDeafAtItsFirstBroadcast_OneIncidentFromTheStart()
    {
        Switched();
        Unanswered(10, 20);
        Assert.Equal(TargetState.Unresponsive, _engine.State);
        Assert.Equal(T(10), _raised[^1].At);
        Feed(EvidenceKind.FrameFromTarget, 20.5); // its ARP who-has for the router
        Assert.Equal(TargetState.Deaf, _engine.State);
        Assert.DoesNotContain(_raised, c => c.State == TargetState.Down);
        var incident = Assert.Single(_engine.Incidents);
        Assert.Equal(TargetState.Deaf, incident.State);
        Assert.Equal(T(10), incident.Start);
        Assert.Equal([TargetState.Up, TargetState.Unresponsive, TargetState.Deaf], _raised.Select(c => c.State));
    }

    [Fact]
    public void Switched_UnresponsiveThenSilence_IsDown_FromItsStart()
    {
        Switched();
        Unanswered(10, 40);
        Assert.Equal(TargetState.Unresponsive, _engine.State);
        Feed(EvidenceKind.Silence, 9.0004, known: 40); // its cadence is overdue (the tracker's judgement)
        Assert.Equal(TargetState.Down, _engine.State);
        var incident = Assert.Single(_engine.Incidents);
        Assert.Equal((TargetState.Down, T(10)), (incident.State, incident.Start));
        Assert.Null(incident.End);
    }

    [Fact]
    public void Switched_UnresponsiveThenAnswers_IsAShortIncidentOfItsOwn()
    {
        Switched();
        Unanswered(10, 14);
        Feed(EvidenceKind.ProbeAnswered, 14.5);
        Assert.Equal(TargetState.Up, _engine.State);
        var incident = Assert.Single(_engine.Incidents);
        Assert.Equal((TargetState.Unresponsive, T(10), T(14.5), IncidentEnd.Recovered), (incident.State, incident.Start, incident.End, incident.EndReason));
    }

    [Fact]
    public void Switched_LinkDown_IsDownAtOnce()
    {
        Switched();
        Unanswered(10, 13);
        Feed(EvidenceKind.TargetLinkDown, 13.5);
        Assert.Equal(TargetState.Down, _engine.State);
        Assert.Equal(T(10), Assert.Single(_engine.Incidents).Start);
    }

    [Fact]
    public void FullView_SameTimeline_IsDown_AsBefore()
    {
        Healthy(0, 10);
        Unanswered(10, 20);
        Assert.Equal(TargetState.Down, _engine.State);
        Assert.DoesNotContain(_raised, c => c.State == TargetState.Unresponsive);
    }

    [Fact]
    public void ViewThatTurnsFull_AfterItFellSilent_DoesNotRejudgeAnUnresponsiveTarget()
    {
        // Issue 24: an attacker's flooded frames made a switch port's view full, and a deaf console that was honestly
        // unresponsive became down. A view that turned full after the target fell silent saw nothing of that silence.
        Switched();
        Unanswered(10, 20);
        Assert.Equal(TargetState.Unresponsive, _engine.State);
        Feed(EvidenceKind.ViewFull, 20.2);
        Assert.Equal(TargetState.Unresponsive, _engine.State);
        Unanswered(20, 30);
        Assert.Equal(TargetState.Unresponsive, _engine.State);
        // Its next broadcast: it transmits, so it is deaf; a silence the full view then watches from its start is down.
        Feed(EvidenceKind.FrameFromTarget, 31);
        Unanswered(31, 33);
        Assert.Equal(TargetState.Deaf, _engine.State);
        Feed(EvidenceKind.Silence, 31);
        Assert.Equal(TargetState.Down, _engine.State);
        Assert.Equal([TargetState.Unresponsive, TargetState.Deaf, TargetState.Down], _engine.Changes.Select(c => c.State).Where(x => x != TargetState.Up));
        Assert.Contains(_engine.Notes, n => n.Kind == EvidenceKind.ViewFull);
    }

    [Fact]
    public void ViewFullBeforeItStoppedAnswering_SilenceIsDown_AndAVerdictGivenStands()
    {
        Switched();
        Feed(EvidenceKind.ViewFull, 5);
        Unanswered(10, 20);
        Assert.Equal(TargetState.Down, _engine.State);
        Feed(EvidenceKind.ViewSwitched, 25);
        Unanswered(20, 25);
        Assert.Equal(TargetState.Down, _engine.State); // not back to unresponsive: nothing new was learned
        Assert.Single(_engine.Incidents);
    }
}
