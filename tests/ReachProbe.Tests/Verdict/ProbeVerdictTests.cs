using ReachProbe.Verdict;

namespace ReachProbe.Tests.Verdict;

/// <summary><c>probe</c>'s verdict from the engine's facts, and the words the log and <c>probe</c> share.</summary>
public sealed class ProbeVerdictTests
{
    private static EvidenceCounts Counts(params (EvidenceKind Kind, int N)[] kinds)
    {
        var c = new EvidenceCounts();
        foreach (var (kind, n) in kinds)
            for (var i = 0; i < n; i++) c.Add(new Evidence(kind, 1000 + i));
        return c;
    }

    [Fact]
    public void Deaf_SaysWhatItSentAndWhatWentUnanswered()
    {
        var e = Counts((EvidenceKind.FrameFromTarget, 4), (EvidenceKind.EchoUnanswered, 3), (EvidenceKind.ArpForTargetUnanswered, 3), (EvidenceKind.ArpRepeatedAfterReply, 2));
        var v = ProbeVerdict.Decide(TargetState.Deaf, e, e, macKnown: true, blind: null, cloned: false, 0, 6);
        Assert.Equal(ProbeOutcome.Deaf, v.Outcome);
        Assert.Equal(1, v.ExitCode);
        Assert.Equal("verdict: DEAF — transmits (4 frames, its ARP repeated after reply ×2) but answered none of 3 echo requests and 3 ARP requests", v.Line);
    }

    [Fact]
    public void SilentAndNeverSeen_IsNoSuchHost_ButAKnownMacMakesItDown()
    {
        var e = Counts((EvidenceKind.ProbeUnanswered, 4));
        var absent = ProbeVerdict.Decide(TargetState.Down, e, e, macKnown: false, blind: null, cloned: false, 0, 4, "icmp ×2, arp ×2");
        Assert.Equal(ProbeOutcome.NoSuchHost, absent.Outcome);
        Assert.Equal(5, absent.ExitCode);
        Assert.Equal("verdict: NO SUCH HOST — nothing answered ARP for it and nothing from it was seen (4 probe attempts (icmp ×2, arp ×2) unanswered)", absent.Line);
        var known = ProbeVerdict.Decide(TargetState.Down, e, e, macKnown: true, blind: null, cloned: false, 0, 4);
        Assert.Equal(ProbeOutcome.Down, known.Outcome);
        Assert.Equal(3, known.ExitCode);
        Assert.Equal("silent: no frame from it; answered none of 4 probe attempts", known.Why);
    }

    [Fact]
    public void LinkDown_IsDownEvenWithNoMacKnown()
    {
        var e = Counts((EvidenceKind.TargetLinkDown, 1));
        var v = ProbeVerdict.Decide(TargetState.Down, e, e, macKnown: false, blind: null, cloned: false, 0, 0);
        Assert.Equal(ProbeOutcome.Down, v.Outcome);
        Assert.Equal("silent, its link down", v.Why);
    }

    [Fact]
    public void NoCapture_AnswersAloneMakeItUp_SilenceIsUnknown()
    {
        var none = new EvidenceCounts();
        var up = ProbeVerdict.Decide(TargetState.Unknown, null, none, false, "permission denied", false, 3, 5);
        Assert.Equal(ProbeOutcome.Up, up.Outcome);
        Assert.Contains("the answers are the socket's word alone", up.Why);
        var silent = ProbeVerdict.Decide(TargetState.Unknown, null, none, false, "permission denied", false, 0, 5);
        Assert.Equal(ProbeOutcome.Unknown, silent.Outcome);
        Assert.Equal(6, silent.ExitCode);
        Assert.Contains("permission denied", silent.Why);
    }

    [Fact]
    public void Cloned_IsUnknown_WhateverTheState()
    {
        var e = Counts((EvidenceKind.EchoAnswered, 2));
        Assert.Equal(ProbeOutcome.Unknown, ProbeVerdict.Decide(TargetState.Up, null, e, true, null, cloned: true, 2, 2).Outcome);
    }

    [Fact]
    public void Unresponsive_NeedsSomethingKnownOfTheHost()
    {
        var e = Counts((EvidenceKind.ProbeUnanswered, 3));
        Assert.Equal(ProbeOutcome.Unresponsive, ProbeVerdict.Decide(TargetState.Unresponsive, e, e, true, null, false, 0, 3).Outcome);
        Assert.Equal(4, ProbeVerdict.Decide(TargetState.Unresponsive, e, e, true, null, false, 0, 3).ExitCode);
        Assert.Equal(ProbeOutcome.NoSuchHost, ProbeVerdict.Decide(TargetState.Unresponsive, e, e, false, null, false, 0, 3).Outcome);
    }

    [Theory]
    [InlineData(0.5, "0.5 s")]
    [InlineData(42, "42 s")]
    [InlineData(185, "3 min 5 s")]
    [InlineData(7440, "2 h 4 min")]
    [InlineData(266400, "3 d 2 h")]
    public void Duration_ReadsAsAPersonWouldSayIt(double seconds, string text) => Assert.Equal(text, VerdictWords.Duration(TimeSpan.FromSeconds(seconds)));
}
