using ReachProbe.Verdict;

namespace ReachProbe.Tests.Verdict;

public class EvidenceCatalogTests
{
    [Fact]
    public void All_HasOneRowPerKind_WithUniqueNames()
    {
        var kinds = Enum.GetValues<EvidenceKind>();
        Assert.Equal(kinds.Order(), EvidenceCatalog.All.Select(r => r.Kind).Order());
        Assert.Equal(kinds.Length, EvidenceCatalog.All.Select(r => r.Name).Distinct().Count());
        Assert.Equal(kinds.Length, EvidenceCatalog.All.Select(r => r.Text).Distinct().Count());
        Assert.All(EvidenceCatalog.All, r => Assert.Matches("^[a-z]+(_[a-z]+)*$", r.Name));
    }

    [Theory]
    [InlineData("echo_answered", EvidenceKind.EchoAnswered)]
    [InlineData("arp_unanswered", EvidenceKind.ArpForTargetUnanswered)]
    [InlineData("frame_from_target", EvidenceKind.FrameFromTarget)]
    [InlineData("syn_retransmitted_after_synack", EvidenceKind.SynRetransmittedAfterSynAck)]
    public void TryParse_Name_RoundTrips(string name, EvidenceKind kind)
    {
        Assert.True(EvidenceCatalog.TryParse(name, out var parsed));
        Assert.Equal(kind, parsed);
        Assert.Equal(name, kind.Info().Name);
    }

    [Fact]
    public void Evidence_CategoryDecidesProofAndNegative_NotEnumOrder()
    {
        foreach (var info in EvidenceCatalog.All)
        {
            var e = new Evidence(info.Kind, 0);
            Assert.Equal(info.Category == EvidenceCategory.Proof, e.IsProof);
            Assert.Equal(info.Category is EvidenceCategory.Unanswered or EvidenceCategory.Ignored, e.IsNegative);
            Assert.Equal(info.Category == EvidenceCategory.Ignored, e.ShowsTransmission);
        }
        Assert.Equal([EvidenceKind.EchoAnswered, EvidenceKind.ArpAnsweredByTarget, EvidenceKind.TcpAnsweredByTarget, EvidenceKind.ProbeAnswered],
            EvidenceCatalog.All.Where(r => r.Category == EvidenceCategory.Proof).Select(r => r.Kind));
    }

    [Fact]
    public void Names_StatesAndEnds_RoundTrip()
    {
        foreach (var s in Enum.GetValues<TargetState>())
        {
            Assert.True(Names.TryParseState(s.Name(), out var back));
            Assert.Equal(s, back);
        }
        foreach (var e in Enum.GetValues<IncidentEnd>())
        {
            Assert.True(Names.TryParseEnd(e.Name(), out var back));
            Assert.Equal(e, back);
        }
        Assert.False(Names.TryParseState("sleepy", out _));
        Assert.Equal("stateChanged", Names.Camel(IncidentEnd.StateChanged.Name()));
        Assert.Equal("echoAnswered", EvidenceKind.EchoAnswered.Info().JsonName);
    }
}
