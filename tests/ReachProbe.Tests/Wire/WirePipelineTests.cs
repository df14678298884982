using ReachProbe.Analysis;

namespace ReachProbe.Tests.Wire;

/// <summary>A pipeline's clock, and frames fed at their time.</summary>
public abstract class PipelineFeed
{
    protected PacketClock Clock { get; } = new();

    protected void Feed(WirePipeline p, byte[] frame, double at)
    {
        Clock.Now = At(at);
        p.Process(LinkKind.Ethernet, frame, At(at));
    }
}

public class WirePipelineTests : PipelineFeed
{

    private WirePipeline Discovering(int maxHosts = 1024) => new(new VerdictOptions(), Clock, null, maxHosts);

    [Fact]
    public void Process_ArpLearnsTheMacAndMarksTheAskedHost()
    {
        var p = Discovering();
        Feed(p, Frames.ArpRequest(Pc, GameConsole.Ip), 0);
        Feed(p, Frames.ArpReply(GameConsole, Pc), 0.001);
        var console = p.Find(Ip(GameConsole.Ip))!;
        Assert.Equal(Mac(GameConsole.Mac), console.Identity.Mac);
        Assert.Equal(MacSource.Arp, console.MacSource);
        Assert.True(console.TriedByOthers);
        Assert.False(p.Find(Ip(Pc.Ip))!.TriedByOthers);
        Assert.True(p.IsOnSegment(console));
    }

    [Fact]
    public void Process_RouterMacSpeakingForTwoAddresses_IsNotOnTheSegment()
    {
        // Pings to two internet hosts: the replies come from the router's MAC with two source addresses.
        var router = Router;
        var a = new LanHost("203.0.113.5", router.Mac);
        var b = new LanHost("203.0.113.9", router.Mac);
        var p = Discovering();
        Feed(p, Frames.EchoRequest(Pc, a, 1, 1), 0);
        Feed(p, Frames.EchoReply(a, Pc, 1, 1), 0.01);
        Assert.True(p.IsOnSegment(p.Find(Ip(a.Ip))!)); // one address so far: tentatively local
        Feed(p, Frames.EchoRequest(Pc, b, 1, 2), 1);
        Feed(p, Frames.EchoReply(b, Pc, 1, 2), 1.01);
        Assert.False(p.IsOnSegment(p.Find(Ip(a.Ip))!));
        Assert.False(p.IsOnSegment(p.Find(Ip(b.Ip))!));
    }

    [Fact]
    public void Process_FloodOfNewAddresses_TracksAtMostTheBound()
    {
        var p = Discovering(maxHosts: 64);
        for (var i = 0; i < 5000; i++)
            Feed(p, Frames.ArpRequest(Pc, $"198.18.{i / 250}.{1 + i % 250}"), i * 0.001);
        Assert.Equal(64, p.Hosts.Count);
        Assert.Equal(5000 - 63, p.HostsNotTracked); // the asking PC is the 64th host
        // Asked for again and again, an address left out is still one host: hosts are counted, not frames.
        for (var i = 0; i < 5000; i++) Feed(p, Frames.ArpRequest(Pc, "198.18.19.250"), 5 + i * 0.001);
        Assert.Equal(5000 - 63, p.HostsNotTracked);
    }

    [Fact]
    public void Process_OneDeviceAtTwoAddresses_ItsFramesAreEvidenceForBoth()
    {
        // A dual-stack console watched at its IPv4 and its IPv6 address (one MAC): its IPv4 chatter shows that the
        // device transmits — for its IPv6 host too (the lab's dual-stack latency run: deaf on both, or its IPv6 host was
        // not told it still sends).
        var v6 = Scenarios.V6(GameConsole, "2001:db8::27");
        var p = new WirePipeline(new VerdictOptions(), Clock, new Dictionary<UInt128, ulong> { [Ip(GameConsole.Ip)] = Mac(GameConsole.Mac), [Key(v6.Ip)] = Mac(GameConsole.Mac) });
        Feed(p, Frames.Udp(GameConsole, Router, 5000, 6000, new byte[16]), 1);
        Assert.Equal(At(1), p.Find(Ip(GameConsole.Ip))!.Verdict.LastFrame);
        Assert.Equal(At(1), p.Find(Key(v6.Ip))!.Verdict.LastFrame);
        // And its announcement from its link-local address, for its IPv4 host.
        Feed(p, Frames.Udp(Scenarios.V6(GameConsole, "fe80::27"), new LanHost("ff02::c", "33:33:00:00:00:0c"), 1900, 1900, new byte[16]), 1.5);
        Assert.Equal(At(1.5), p.Find(Ip(GameConsole.Ip))!.Verdict.LastFrame);
        Assert.Equal(At(1.5), p.Find(Key(v6.Ip))!.Verdict.LastFrame);
        // Its IPv6 neighbour advertisement answers for its IPv6 host only.
        Feed(p, Frames.ArpReply(v6, Scenarios.V6(Pc, "2001:db8::12")), 2);
        Assert.Equal(1, p.Find(Key(v6.Ip))!.Verdict.Totals[EvidenceKind.ArpAnsweredByTarget]);
        Assert.Equal(0, p.Find(Ip(GameConsole.Ip))!.Verdict.Totals[EvidenceKind.ArpAnsweredByTarget]);
        // Removing one address keeps the other's routing.
        p.RemoveTarget(Key(v6.Ip));
        Feed(p, Frames.Udp(GameConsole, Router, 5000, 6000, new byte[16]), 3);
        Assert.Equal(At(3), p.Find(Ip(GameConsole.Ip))!.Verdict.LastFrame);
    }

    [Fact]
    public void Process_EchoFloodAtOneTarget_EvictsInsteadOfGrowing()
    {
        var p = new WirePipeline(new VerdictOptions(), Clock, new Dictionary<UInt128, ulong> { [Ip(GameConsole.Ip)] = 0 });
        // 20,000 requests within one reply timeout: nothing can expire, so only the bound keeps the table small.
        for (var i = 0; i < 20_000; i++) Feed(p, Frames.EchoRequest(Pc, GameConsole, (ushort)(i >> 16), (ushort)i), i * 1e-5);
        var console = p.Find(Ip(GameConsole.Ip))!;
        Assert.Equal(20_000 - SignatureTrackerCapacity, console.Evicted);
        p.Flush(At(100));
        // 20,000 requests in 0.2 s is a flood: what the table kept is weighed up to the flood rate, the rest counted.
        Assert.Equal(SignatureTrackerCapacity, console.Verdict.Totals[EvidenceKind.EchoUnanswered] + console.Flooded[EvidenceKind.EchoUnanswered]);
        Assert.InRange(console.Verdict.Totals[EvidenceKind.EchoUnanswered], 3, HostMonitor.FloodRate + 1);
        Assert.Equal(1, console.Verdict.Totals[EvidenceKind.Flood]);
    }

    [Fact]
    public void Process_ForgedDnsFloodFromTheTargetsOwnMac_IsSummarised()
    {
        // 20,000 queries a second "from the console" (its MAC and address forged), each answered and each repeated:
        // a flood, far above any resolver client's rate. The healthy console keeps answering pings.
        var p = new WirePipeline(new VerdictOptions(), Clock, new Dictionary<UInt128, ulong> { [Ip(GameConsole.Ip)] = Mac(GameConsole.Mac) });
        for (var i = 0; i < 10_000; i++)
        {
            var t = i * 5e-5;
            var id = (ushort)(i % 500);
            Feed(p, Frames.DnsQuery(GameConsole, Router, 40000, id, "x.lan"), t);
            Feed(p, Frames.DnsResponse(Router, GameConsole, 40000, id, "x.lan"), t + 1e-6);
            if (i % 2000 == 0)
            {
                Feed(p, Frames.EchoRequest(Pc, GameConsole, 9, (ushort)i), t + 2e-6);
                Feed(p, Frames.EchoReply(GameConsole, Pc, 9, (ushort)i), t + 3e-6);
            }
        }
        var console = p.Find(Ip(GameConsole.Ip))!;
        Assert.True(console.Flooded[EvidenceKind.DnsRepeatedAfterAnswer] > 8000);
        // Weighed: the first burst, and the flood rate after it (0.5 s here); the rest only counted.
        Assert.InRange(console.Verdict.Totals[EvidenceKind.DnsRepeatedAfterAnswer], 1, 2 * HostMonitor.FloodRate);
        Assert.Equal(TargetState.Up, console.Verdict.State);
    }

    private const int SignatureTrackerCapacity = ReachProbe.Wire.Trackers.SignatureTracker.DefaultTableCapacity;

    [Fact]
    public void Process_RequestsFromTheMonitorItself_AreLeftToTheProbeResults()
    {
        var p = new WirePipeline(new VerdictOptions(), Clock, new Dictionary<UInt128, ulong> { [Ip(GameConsole.Ip)] = 0 }) { Monitor = Ip(Pc.Ip) };
        Feed(p, Frames.EchoRequest(Pc, GameConsole, 1, 1), 0);
        Feed(p, Frames.ArpRequest(Pc, GameConsole.Ip), 0);
        Feed(p, Frames.EchoRequest(Laptop, GameConsole, 1, 1), 0);
        p.Flush(At(10));
        var totals = p.Find(Ip(GameConsole.Ip))!.Verdict.Totals;
        Assert.Equal(1, totals[EvidenceKind.EchoUnanswered]); // the laptop's, not ours
        Assert.Equal(0, totals[EvidenceKind.ArpForTargetUnanswered]);
    }

    [Fact]
    public void Process_FrameInvolvingTwoTargets_ReachesBoth()
    {
        var p = Discovering();
        Feed(p, Frames.ArpRequest(Pc, GameConsole.Ip), 0);
        Feed(p, Frames.ArpReply(GameConsole, Pc), 0.001);
        Feed(p, Frames.ArpRequest(GameConsole, Pc.Ip), 0.002);
        Feed(p, Frames.ArpReply(Pc, GameConsole), 0.003);
        // An echo from the PC to the console and its reply: proof for the console, frames from both.
        Feed(p, Frames.EchoRequest(Pc, GameConsole, 1, 1), 1);
        Feed(p, Frames.EchoReply(GameConsole, Pc, 1, 1), 1.001);
        Assert.Equal(1, p.Find(Ip(GameConsole.Ip))!.Verdict.Totals[EvidenceKind.EchoAnswered]);
        Assert.Equal(3, p.Find(Ip(Pc.Ip))!.Verdict.Totals[EvidenceKind.FrameFromTarget]); // its who-has, its reply, its echo request
    }

    private static readonly LanHost Spoofer = new(GameConsole.Ip, Laptop.Mac);

    [Fact]
    public void Process_AnotherMacClaimingTheAddress_IsAConflictNotANewIdentity()
    {
        var p = Discovering();
        Feed(p, Frames.ArpRequest(Pc, GameConsole.Ip), 0);
        Feed(p, Frames.ArpReply(GameConsole, Pc), 0.001);
        for (var i = 1; i <= 5; i++) Feed(p, Frames.ArpReply(Spoofer, Pc), i);
        var console = p.Find(Ip(GameConsole.Ip))!;
        Assert.Equal(Mac(GameConsole.Mac), console.Identity.Mac);
        Assert.Equal(Mac(Laptop.Mac), console.ConflictMac);
        Assert.Equal(5, console.Conflicts[Mac(Laptop.Mac)]);
        // Noted once a minute per MAC, not once a frame.
        Assert.Equal(1, console.Verdict.Totals[EvidenceKind.AddressConflict]);
    }

    [Fact]
    public void Process_NewMacAnsweringWhileTheOldIsSilent_IsTakenAfterMacChange()
    {
        var options = new VerdictOptions { MacChange = TimeSpan.FromSeconds(60) };
        var p = new WirePipeline(options, Clock);
        Feed(p, Frames.ArpReply(GameConsole, Pc), 0);
        // A new card: the old MAC never sends again; the new one answers every 10 s.
        for (var t = 10; t < 60; t += 10) Feed(p, Frames.ArpReply(Spoofer, Pc), t);
        var console = p.Find(Ip(GameConsole.Ip))!;
        Assert.Equal(Mac(GameConsole.Mac), console.Identity.Mac);
        Feed(p, Frames.ArpReply(Spoofer, Pc), 75);
        Assert.Equal(Mac(Laptop.Mac), console.Identity.Mac);
        Assert.Equal(1, console.Verdict.Totals[EvidenceKind.MacChanged]);
    }

    [Fact]
    public void Process_SpooferWhileTheOwnerStillTransmits_NeverTakesTheAddress()
    {
        var options = new VerdictOptions { MacChange = TimeSpan.FromSeconds(60) };
        var p = new WirePipeline(options, Clock);
        Feed(p, Frames.ArpReply(GameConsole, Pc), 0);
        for (var t = 1; t < 600; t += 2)
        {
            Feed(p, Frames.ArpReply(Spoofer, Pc), t);
            Feed(p, Frames.DnsQuery(GameConsole, Router, 40000, (ushort)t, "store.lan"), t + 1); // the deaf owner still chatters
        }
        Assert.Equal(Mac(GameConsole.Mac), p.Find(Ip(GameConsole.Ip))!.Identity.Mac);
    }

    [Fact]
    public void Process_ConfiguredMac_NeverChangesOnTheWire()
    {
        var options = new VerdictOptions { MacChange = TimeSpan.FromSeconds(10) };
        var p = new WirePipeline(options, Clock, new Dictionary<UInt128, ulong> { [Ip(GameConsole.Ip)] = Mac(GameConsole.Mac) });
        for (var t = 0; t < 120; t += 5) Feed(p, Frames.ArpReply(Spoofer, Pc), t);
        Assert.Equal(Mac(GameConsole.Mac), p.Find(Ip(GameConsole.Ip))!.Identity.Mac);
    }

    [Fact]
    public void Process_DeafConsoleWithASpooferAnsweringForIt_StaysDeaf()
    {
        var p = new WirePipeline(new VerdictOptions(), Clock, new Dictionary<UInt128, ulong> { [Ip(GameConsole.Ip)] = 0 });
        Feed(p, Frames.ArpReply(GameConsole, Pc), 0); // healthy: learned
        var states = new List<TargetState>();
        for (var t = 1; t < 120; t++)
        {
            Feed(p, Frames.EchoRequest(Pc, GameConsole, 7, (ushort)t), t);           // never answered: deaf
            Feed(p, Frames.ArpRequest(Pc, GameConsole.Ip), t + 0.1);
            Feed(p, Frames.ArpReply(Spoofer, Pc), t + 0.2);                          // the spoofer answers for it
            Feed(p, Frames.DnsQuery(GameConsole, Router, 40000, 0x42, "store.lan"), t + 0.5); // the console chatters
            Feed(p, Frames.DnsResponse(Router, GameConsole, 40000, 0x42, "store.lan"), t + 0.51);
            var s = p.Find(Ip(GameConsole.Ip))!.Verdict.State;
            if (states.Count == 0 || states[^1] != s) states.Add(s);
        }
        Assert.Equal(TargetState.Deaf, states[^1]);
        Assert.DoesNotContain(TargetState.Up, states.SkipWhile(s => s != TargetState.Deaf));
        // The incident keeps the conflicts it saw (the history stores them with it).
        Assert.True(p.Find(Ip(GameConsole.Ip))!.Verdict.Incidents[0].Evidence[EvidenceKind.AddressConflict] >= 1);
        Assert.Single(p.Find(Ip(GameConsole.Ip))!.Verdict.Incidents);
    }
}

/// <summary>A target known by its MAC: its address is learned from the wire and followed (issue 19, item 3).</summary>
public class WirePipelineFollowTests : PipelineFeed
{
    private static readonly LanHost Moved = new("192.168.1.28", GameConsole.Mac);
    private readonly List<AddressMove> _moves = [];

    private WirePipeline Watching()
    {
        var p = new WirePipeline(new VerdictOptions(), Clock, new Dictionary<UInt128, ulong>());
        p.AddressMoved += _moves.Add;
        return p;
    }

    [Fact]
    public void Follow_UnknownAddress_IsLearnedFromTheFirstFrameOfItsMac()
    {
        var p = Watching();
        Assert.Null(p.Follow(Mac(GameConsole.Mac), 0));
        Assert.Empty(p.Hosts);
        Feed(p, Frames.Udp(Pc, Router, 5000, 53, [1]), 0); // another MAC: nothing learned
        Feed(p, Frames.Udp(GameConsole, Router, 5000, 53, [1]), 1);
        var host = Assert.Single(p.Hosts);
        Assert.Equal((Ip(GameConsole.Ip), Mac(GameConsole.Mac), MacSource.Configured), (host.Identity.Ip, host.Identity.Mac, host.MacSource));
        Assert.Equal(new AddressMove(Mac(GameConsole.Mac), 0, Ip(GameConsole.Ip), At(1), host, null), Assert.Single(_moves));
        Assert.Equal(Ip(GameConsole.Ip), p.AddressOf(Mac(GameConsole.Mac)));
    }

    [Fact]
    public void Follow_ItsGratuitousArpFromANewAddress_MovesTheSameHost_WithItsVerdict()
    {
        var p = Watching();
        var host = p.Follow(Mac(GameConsole.Mac), Ip(GameConsole.Ip))!;
        Feed(p, Frames.EchoRequest(Pc, GameConsole, 1, 1), 0);
        Feed(p, Frames.EchoReply(GameConsole, Pc, 1, 1), 0.01);
        var verdict = host.Verdict;
        var state = verdict.State;
        Feed(p, Frames.GratuitousArp(Moved), 2);
        Assert.Same(host, p.Find(Ip(Moved.Ip)));
        Assert.Null(p.Find(Ip(GameConsole.Ip)));
        Assert.Equal(Ip(Moved.Ip), host.Identity.Ip);
        Assert.Same(verdict, host.Verdict);
        Assert.Equal(state, host.Verdict.State);
        Assert.Equal((Ip(GameConsole.Ip), Ip(Moved.Ip)), (_moves[^1].From, _moves[^1].To));
        // Its frames at the new address are its own: an echo reply there proves receipt as before.
        var answered = 0;
        host.EvidenceObserved += (_, e) => answered += e.Kind == EvidenceKind.EchoAnswered ? 1 : 0;
        Feed(p, Frames.EchoRequest(Pc, Moved, 1, 2), 3);
        Feed(p, Frames.EchoReply(Moved, Pc, 1, 2), 3.01);
        Assert.Equal(1, answered);
    }

    [Fact]
    public void Follow_RequestsToTheAddressItLeft_AreForgotten_NotUnanswered()
    {
        var p = Watching();
        var host = p.Follow(Mac(GameConsole.Mac), Ip(GameConsole.Ip))!;
        var unanswered = new List<EvidenceKind>();
        host.EvidenceObserved += (_, e) => { if (e.Kind is EvidenceKind.EchoUnanswered or EvidenceKind.ArpForTargetUnanswered) unanswered.Add(e.Kind); };
        Feed(p, Frames.EchoRequest(Pc, GameConsole, 1, 1), 0);
        Feed(p, Frames.ArpRequest(Pc, GameConsole.Ip), 0.1);
        Feed(p, Frames.GratuitousArp(Moved), 0.5);
        p.Advance(At(30));
        Assert.Empty(unanswered);
        // Requests to the new address still count.
        Feed(p, Frames.EchoRequest(Pc, Moved, 1, 2), 31);
        p.Advance(At(60));
        Assert.Equal([EvidenceKind.EchoUnanswered], unanswered);
    }

    [Fact]
    public void Follow_AMoveNeedsItsArp_NotAnIPv4SourceNorAnArpItRelays()
    {
        var p = Watching();
        var host = p.Follow(Mac(GameConsole.Mac), Ip(GameConsole.Ip))!;
        // Its IPv4 frames with another source (it forwards, or a spoofer's reflection) do not move it: ARP never crosses a router.
        Feed(p, Frames.Udp(Moved, Router, 5000, 53, [1]), 1);
        // Nor does an ARP whose sender MAC is not the frame's source (relayed, or forged by another card).
        var relayed = Frames.GratuitousArp(Moved);
        Array.Copy(Frames.GratuitousArp(Pc), 6, relayed, 6, 6); // the Ethernet source: the PC's MAC
        Feed(p, relayed, 2);
        Assert.Equal(Ip(GameConsole.Ip), host.Identity.Ip);
        Assert.Empty(_moves);
    }

    [Fact]
    public void Follow_ToAnotherTargetsAddress_IsRefused_AndSaidOnce()
    {
        var p = new WirePipeline(new VerdictOptions(), Clock, new Dictionary<UInt128, ulong> { [Ip(Moved.Ip)] = 0 });
        p.AddressMoved += _moves.Add;
        var host = p.Follow(Mac(GameConsole.Mac), Ip(GameConsole.Ip))!;
        var other = p.Find(Ip(Moved.Ip))!;
        Feed(p, Frames.GratuitousArp(Moved), 1);
        Feed(p, Frames.GratuitousArp(Moved), 2);
        Assert.Equal(Ip(GameConsole.Ip), host.Identity.Ip);
        var refused = Assert.Single(_moves);
        Assert.Same(other, refused.Holder);
        Assert.Same(host, refused.Host);
    }

    [Fact]
    public void Unfollow_DropsItsHost()
    {
        var p = Watching();
        p.Follow(Mac(GameConsole.Mac), Ip(GameConsole.Ip));
        Assert.True(p.Unfollow(Mac(GameConsole.Mac)));
        Assert.Empty(p.Hosts);
        Feed(p, Frames.GratuitousArp(Moved), 1);
        Assert.Empty(p.Hosts);
        Assert.Empty(_moves);
        Assert.Null(p.AddressOf(Mac(GameConsole.Mac)));
    }

    private static readonly LanHost Console6 = new("2001:db8::27", GameConsole.Mac);
    private static readonly LanHost Console6Temp = new("2001:db8::9c1:27", GameConsole.Mac);
    private static readonly LanHost Console6LinkLocal = new("fe80::27", GameConsole.Mac);
    private static readonly LanHost Pc6 = new("2001:db8::10", Pc.Mac);

    [Fact]
    public void Follow_BothFamilies_ItsIPv4ByArp_ItsIPv6ByNdp_NeverLinkLocal_EachAHostOfItsOwn()
    {
        var p = Watching();
        p.Follow(Mac(GameConsole.Mac), 0);
        Feed(p, Frames.NeighbourSolicitation(Console6LinkLocal, Pc6.Address), 0); // link-local: not an address to watch
        Assert.Empty(p.Hosts);
        Feed(p, Frames.GratuitousArp(GameConsole), 1);
        Feed(p, Frames.NeighbourSolicitation(Console6, Console6.Address, dad: true), 2); // DAD: it takes 2001:db8::27
        Assert.Equal((Ip(GameConsole.Ip), Key(Console6.Ip)), p.AddressesOf(Mac(GameConsole.Mac)));
        var v4 = p.Find(Ip(GameConsole.Ip))!;
        var v6 = p.Find(Key(Console6.Ip))!;
        Assert.NotSame(v4, v6);
        Assert.Equal([(0, (UInt128)Ip(GameConsole.Ip)), (0, Key(Console6.Ip))], _moves.Select(m => ((int)m.From, m.To)));
        // Frames from its MAC are both hosts' evidence that it transmits.
        var frames = new Dictionary<HostMonitor, int> { [v4] = 0, [v6] = 0 };
        v4.EvidenceObserved += (h, e) => frames[h] += e.Kind == EvidenceKind.FrameFromTarget ? 1 : 0;
        v6.EvidenceObserved += (h, e) => frames[h] += e.Kind == EvidenceKind.FrameFromTarget ? 1 : 0;
        Feed(p, Frames.Udp(GameConsole, Router, 5000, 53, [1]), 3);
        Assert.Equal((1, 1), (frames[v4], frames[v6]));
        Assert.True(p.Unfollow(Mac(GameConsole.Mac)));
        Assert.Empty(p.Hosts);
    }

    [Fact]
    public void Follow_IPv6_TheAddressInUseIsKept_AnotherOneMovesItOnlyOnceItIsOutOfUse()
    {
        var p = Watching();
        var host = p.Follow(Mac(GameConsole.Mac), Key(Console6.Ip))!;
        // A temporary address beside the stable one, while the stable one still answers: it stays.
        Feed(p, Frames.NeighbourAdvertisement(Console6, Pc6.Hardware, Pc6.Address, solicited: true), 0);
        Feed(p, Frames.Udp(Console6Temp, Pc6, 5000, 53, [1]), 10);
        Feed(p, Frames.NeighbourAdvertisement(Console6Temp, Pc6.Hardware, Pc6.Address, solicited: true), 20);
        Assert.Equal(Key(Console6.Ip), host.Identity.Ip);
        Assert.Empty(_moves);
        // The stable one unheard for longer than it is held: the device is where it speaks from now.
        Feed(p, Frames.NeighbourAdvertisement(Console6Temp, Pc6.Hardware, Pc6.Address, solicited: true), 31);
        Assert.Equal(Key(Console6Temp.Ip), host.Identity.Ip);
        Assert.Same(host, p.Find(Key(Console6Temp.Ip)));
        Assert.Equal((Key(Console6.Ip), Key(Console6Temp.Ip)), (_moves.Single().From, _moves.Single().To));
        // Its IPv4 address is learned beside it, without moving it.
        Feed(p, Frames.GratuitousArp(GameConsole), 32);
        Assert.Equal(((UInt128)Ip(GameConsole.Ip), Key(Console6Temp.Ip)), p.AddressesOf(Mac(GameConsole.Mac)));
    }

}

/// <summary>A target known by its host name moves when the name resolves to another address.</summary>
public class WirePipelineMoveTests
{
    private readonly PacketClock _clock = new();

    [Fact]
    public void MoveTarget_ToAFreeAddress_MovesTheSameHost_ToATakenOne_IsRefused()
    {
        var p = new WirePipeline(new VerdictOptions(), _clock, new Dictionary<UInt128, ulong> { [Ip(GameConsole.Ip)] = 0, [Ip(Router.Ip)] = 0 });
        var moves = new List<AddressMove>();
        p.AddressMoved += moves.Add;
        var host = p.Find(Ip(GameConsole.Ip))!;
        Assert.True(p.MoveTarget(Ip(GameConsole.Ip), Ip("192.168.1.28"), At(1)));
        Assert.Same(host, p.Find(Ip("192.168.1.28")));
        Assert.Null(p.Find(Ip(GameConsole.Ip)));
        Assert.Equal(Ip("192.168.1.28"), host.Identity.Ip);
        Assert.True(p.MoveTarget(Ip("192.168.1.28"), Ip(Router.Ip), At(2)));
        Assert.Same(host, p.Find(Ip("192.168.1.28"))); // the router's address is the router's
        Assert.Equal([(Ip(GameConsole.Ip), Ip("192.168.1.28"), (HostMonitor?)null), (Ip("192.168.1.28"), Ip(Router.Ip), p.Find(Ip(Router.Ip)))],
            moves.Select(m => (m.From, m.To, m.Holder)));
        Assert.False(p.MoveTarget(Ip("192.168.1.99"), Ip("192.168.1.100"), At(3)));
    }
}
