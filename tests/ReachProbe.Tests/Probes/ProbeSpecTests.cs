using ReachProbe.Probes;

namespace ReachProbe.Tests.Probes;

public class ProbeSpecTests
{
    public static TheoryData<string> ProbeRows => new(ProbeType.All.Select(p => p.Syntax));

    [Theory]
    [MemberData(nameof(ProbeRows))]
    public void TryParse_EachRowsBadExamples_AreRefusedWithTheirProblem(string syntax)
    {
        var row = ProbeType.All.Single(p => p.Syntax == syntax);
        Assert.NotEmpty(row.BadExamples); // a new probe says how it is written wrongly
        foreach (var (text, problem) in row.BadExamples)
        {
            Assert.False(ProbeSpec.TryParse(text, out _, out var got));
            Assert.StartsWith(problem, got);
        }
    }

    [Fact]
    public void Proves_IsDeclaredByEachRow()
    {
        var target = System.Net.IPAddress.Parse("198.18.0.27");
        var env = new ProbeEnvironment { DnsServer = System.Net.IPAddress.Parse("198.18.0.1") };
        AnswerProves Of(string text, ProbeEnvironment? e = null)
        {
            Assert.True(ProbeSpec.TryParse(text, out var spec, out _));
            using var probe = spec!.Kind == ProbeKind.Arp ? null : spec.Create(target, e ?? env, out _);
            return probe is null ? spec.Type.Proves(null!, target) : spec.Type.Proves(probe, target);
        }
        Assert.Equal(AnswerProves.ReceiptSeenOnWire, Of("icmp"));
        Assert.Equal(AnswerProves.ReceiptFromItsMac, Of("arp"));
        Assert.Equal(AnswerProves.ServerOnly, Of("dns"));
        Assert.Equal(AnswerProves.Receipt, Of("dns", env with { DnsServer = target })); // the resolver is the target
        Assert.Equal(AnswerProves.Receipt, Of("dns@target"));
        Assert.Equal(AnswerProves.Receipt, Of("tcp:9295"));
        Assert.Equal(AnswerProves.ReceiptOnceAnswered, Of("ddp"));
    }

    [Fact]
    public void ParseList_EveryKind()
    {
        var list = ProbeSpec.ParseList("icmp, ARP,dns,dns:store.lan,dns@target,tcp:9295,ddp", out var problems);
        Assert.Empty(problems);
        Assert.Equal(["icmp", "arp", "dns", "dns:store.lan", "dns@target", "tcp:9295", "ddp"], list.Select(s => s.Text));
        Assert.Equal(9295, list.Single(s => s.Kind == ProbeKind.Tcp).Port);
        Assert.Equal("store.lan", list.Single(s => s.Text == "dns:store.lan").Query);
        Assert.Equal(ProbeSpec.DefaultQuery, list.Single(s => s.Text == "dns").Query);
    }

    [Fact]
    public void ParseList_ListsEveryProblem()
    {
        ProbeSpec.ParseList("icmp,tcp:0,tcp:http,smtp,icmp", out var problems);
        Assert.Equal(
        [
            "'tcp:0': the TCP port must be 1–65535",
            "'tcp:http': the TCP port must be 1–65535",
            "unknown probe 'smtp' (known: icmp, arp, ndp, dns[:NAME], dns@target[:NAME], tcp:PORT, ddp)",
            "'icmp' is listed twice",
        ], problems);
    }

    [Fact]
    public void ParseList_Empty_SaysSo()
    {
        ProbeSpec.ParseList(" , ", out var problems);
        Assert.Equal(["no probe given"], problems);
    }

    [Fact]
    public void ProbeType_OneRowPerKind_EachSyntaxParses()
    {
        Assert.Equal(Enum.GetValues<ProbeKind>(), ProbeType.All.Select(p => p.Kind).Order());
        foreach (var type in ProbeType.All)
        {
            var example = type.Syntax.Replace("[:NAME]", ":console.lan").Replace("PORT", "9295");
            Assert.True(ProbeSpec.TryParse(example, out var spec, out var problem), problem);
            Assert.Equal(type.Kind, spec!.Kind);
            Assert.Equal(example, spec.Text);
        }
        Assert.True(ProbeSpec.TryParse("dns@target:Console.LAN", out var d, out _));
        Assert.Equal(("dns@target:Console.LAN", "Console.LAN", ProbeKind.DnsTarget), (d!.Text, d.Query, d.Kind));
        Assert.False(ProbeSpec.TryParse("tcp", out _, out var tcp));
        Assert.StartsWith("unknown probe 'tcp'", tcp);
    }
}
