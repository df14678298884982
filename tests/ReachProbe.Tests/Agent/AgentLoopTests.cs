using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using ReachProbe.Agent;
using ReachProbe.Probes;
using ReachProbe.Testing;
using ReachProbe.Verdict;
using ReachProbe.Wire;
using static ReachProbe.Testing.Scenarios;

namespace ReachProbe.Tests.Agent;

/// <summary>
/// The live agent's analysis (<see cref="AgentLoop"/>: capture health, probe results, metrics) driven by a fake clock,
/// a replayed capture and scripted probe results: the lab's cases in milliseconds. The lab keeps short end-to-end checks.
/// </summary>
public sealed class AgentLoopTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 14, 20, 0, 0, TimeSpan.Zero);
    private const ushort MonitorId = 0x5150;

    /// <summary>A live source that releases a scenario's frames as the fake clock passes their time.</summary>
    private sealed class ReplaySource(Scenario scenario, TimeProvider time) : ILiveSource
    {
        private readonly Queue<(double At, byte[] Frame)> _frames = new(scenario.Frames());
        public string Name => "replay";
        public LinkKind Link => LinkKind.Ethernet;
        public string? Error { get; set; }
        public bool FailOpen { get; set; }
        public (long Received, long Dropped, long InterfaceDropped)? Statistics => (0, 0, 0);
        public long HandoffDropped => 0;
        public int Opened { get; private set; }

        public void Open()
        {
            if (FailOpen) throw new CaptureException("no capture device replay (interface missing or down)");
            Opened++;
        }

        public bool TryRead(out CapturedFrame frame)
        {
            var now = (time.GetUtcNow() - T0).TotalSeconds;
            if (Error is null && _frames.TryPeek(out var f) && f.At <= now)
            {
                _frames.Dequeue();
                frame = new CapturedFrame((T0 + TimeSpan.FromSeconds(f.At)).UtcTicks, f.Frame, f.Frame.Length);
                return true;
            }
            frame = default;
            return false;
        }

        public void Dispose() { }
    }

    private sealed class Links : ITargetLinks
    {
        public bool? Carrier { get; set; } = true;
        public string? Cloned { get; set; }
        public bool? CarrierOf(ulong mac) => mac == Mac(LabConsole) ? Carrier : null;
        public string? ClonedOn(ulong mac) => mac == Mac(LabConsole) ? Cloned : null;
        public string? LearnedPort(ulong mac) => mac == Mac(LabConsole) ? "pc0" : null;
    }

    private static ulong Mac(LanHost h) => Addresses.TryParseMac(h.Mac, out var m) ? m : 0;

    /// <summary>One run: the console's wire behaviour, the ICMP probe's results every second, and the states seen.</summary>
    private sealed class Run
    {
        public FakeTimeProvider Clock { get; } = new(T0);
        public ReplaySource Source { get; }
        public Links Links { get; } = new();
        public AgentLoop Agent { get; }
        public CollectorRegistry Registry { get; } = Prometheus.Metrics.NewCustomRegistry();
        public List<(double At, TargetState State)> States { get; } = [];
        private readonly ScheduledProbe _icmp = ScheduledProbe.Of("console", new ProbeSpec(ProbeKind.Icmp, "icmp"), new IcmpProbe(IPAddress.Parse(LabConsole.Ip)),
            IPAddress.Parse(LabConsole.Ip), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        public Run(Scenario wire, bool bridge = false)
        {
            Source = new ReplaySource(wire, Clock);
            var config = new AgentConfig
            {
                History = null,
                Targets = [new TargetConfig { Name = "console", Ip = IPAddress.Parse(LabConsole.Ip), Probes = [], Interval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1) }],
            };
            Agent = AgentLoop.Create(config, "lab0", _ => Source, () => true, bridge ? Links : null, Addresses.ToUInt(IPAddress.Parse(LabProbe.Ip)),
                new AgentMetrics(Registry), Log, Clock);
        }

        /// <summary>What the agent logged.</summary>
        public LogLines Log { get; } = new();

        /// <summary>What the socket gets when the probe is answered: an echo reply, or the target's refusal (ICMP unreachable from it).</summary>
        public ProbeStatus Answer { get; set; } = ProbeStatus.Answered;

        public TargetState State => Agent.Host(IPAddress.Parse(LabConsole.Ip))?.Verdict.State ?? TargetState.Unknown;

        /// <summary>Advances the clock in 50 ms steps to <paramref name="until"/> s; the probe is sent every second and its result
        /// arrives when answered (+0.4 ms) or at its 1 s timeout.</summary>
        public void Until(double until, Func<double, bool> socketGetsReply, Action<double>? eachSecond = null)
        {
            var now = (Clock.GetUtcNow() - T0).TotalSeconds;
            var pending = new List<(double Due, double Sent, bool Answered)>();
            for (var t = now; t <= until + 1e-9; t = Math.Round(t + 0.05, 6))
            {
                Clock.SetUtcNow(T0 + TimeSpan.FromSeconds(t));
                if (Math.Abs(t - Math.Round(t)) < 1e-9 && t < until)
                {
                    var answered = socketGetsReply(t);
                    pending.Add((answered ? t : t + 1, t, answered));
                    eachSecond?.Invoke(t);
                }
                foreach (var p in pending.Where(p => p.Due <= t + 1e-9).ToList())
                {
                    pending.Remove(p);
                    var result = p.Answered
                        ? new ProbeResult("icmp", Answer, TimeSpan.FromMilliseconds(0.4), Answer == ProbeStatus.Answered ? "echo reply" : "refused by the target")
                        : new ProbeResult("icmp", ProbeStatus.Timeout, TimeSpan.FromSeconds(1), "no reply in 1 s");
                    // The attempt's sequence number is the scenario's: one ping a second, seq = its second.
                    Agent.Probes.Record(_icmp, result with { EchoSequence = (ushort)Math.Round(p.Sent) }, T0 + TimeSpan.FromSeconds(p.Sent));
                }
                Agent.Loop.Pass(Clock.GetUtcNow());
                // The first answer counts once the wire shows its echo reply (a pass later): no leading unknown.
                if (States.Count == 0 ? State != TargetState.Unknown : States[^1].State != State) States.Add((t, State));
            }
        }

        public string Metrics()
        {
            using var s = new MemoryStream();
            Registry.CollectAndExportAsTextAsync(s).GetAwaiter().GetResult();
            return System.Text.Encoding.UTF8.GetString(s.ToArray());
        }

        public string Timeline => string.Join(", ", States.Select(s => $"{s.At:0.00}s {s.State.Name()}"));
    }

    /// <summary>The console as the lab runs it: it chatters DNS to the router every 2 s and TCP every 5 s; the monitor pings it every second.</summary>
    private static Scenario Console(double end, Func<double, bool> hears, Func<double, bool>? linkUp = null)
    {
        var s = new Scenario("agent-loop");
        var up = linkUp ?? (_ => true);
        Ping(s, LabProbe, LabConsole, MonitorId, 0, end, 1.0, t => hears(t) && up(t));
        Scenarios.DnsClient(s, LabConsole, LabRouter, 0.3, end, 2, hears, "store.lab");
        TcpClient(s, LabConsole, LabRouter, 0.7, end, 5, hears, 443);
        var filtered = new Scenario("agent-loop");
        foreach (var (at, frame) in s.Frames())
        {
            // Frames from the console only exist while its link is up.
            var fromConsole = frame.AsSpan(6, 6).SequenceEqual(Convert.FromHexString(LabConsole.Mac.Replace(":", "")));
            if (!fromConsole || up(at)) filtered.Add(at, frame);
        }
        return filtered;
    }

    /// <summary>The console as a switch port shows it, pinged as <see cref="Run"/> scripts the probe (from 0 s, the monitor's id).</summary>
    private static Scenario SwitchPort(double end, Func<double, bool> hears, Func<double, bool> alive) =>
        Scenarios.SwitchPort("agent-loop-switch", end, hears, alive, MonitorId, firstPing: 0, pingRouter: false);

    /// <summary>A probe that is only a name: its results are scripted.</summary>
    private sealed class Named(string name) : IProbe
    {
        public string Name => name;
        public Task<ProbeResult> ProbeAsync(CancellationToken cancellation) => throw new NotSupportedException("scripted");
        public void Dispose() { }
    }

    [Fact]
    public void Pass_AnswersArpButNoLongerPing_StaysUp_Degraded_ThenNotOnceItAnswers()
    {
        // From 20 s to 40 s an input filter drops IP (pings unanswered on the wire too) while ARP still answers.
        bool Pings(double t) => t < 20 || t >= 40;
        var run = new Run(Console(60, Pings));
        var arp = ScheduledProbe.Of("console", new ProbeSpec(ProbeKind.Arp, "arp"), new Named("arp"), IPAddress.Parse(LabConsole.Ip),
            TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        void Arp(double t) => run.Agent.Probes.Record(arp, new ProbeResult("arp", ProbeStatus.Answered, TimeSpan.FromMilliseconds(0.3), "reply") { Mac = LabConsole.Mac },
            T0 + TimeSpan.FromSeconds(t + 0.5));
        run.Until(30, Pings, Arp);
        Assert.Equal([TargetState.Up], run.States.Select(s => s.State));
        Assert.Contains("reachprobe_target_degraded{target=\"console\",probe=\"icmp\"} 1", run.Metrics());
        Assert.Single(run.Log.Messages, m => m == "console is up but DEGRADED: icmp went unanswered 3 times in a row, though it answered before and other probes still answer (an input filter on the target?)");
        run.Until(50, Pings, Arp);
        Assert.Equal([TargetState.Up], run.States.Select(s => s.State));
        Assert.Contains("reachprobe_target_degraded{target=\"console\",probe=\"icmp\"} 0", run.Metrics());
        Assert.Contains("console answers icmp again: no longer degraded", run.Log.Messages);
        Assert.DoesNotContain("probe=\"arp\"", run.Metrics().Split('\n').Where(l => l.StartsWith("reachprobe_target_degraded", StringComparison.Ordinal)).FirstOrDefault() ?? "");
    }

    [Fact]
    public void Pass_SwitchPort_DeafConsoleThatBroadcasts_IsNeverDown()
    {
        bool Hears(double t) => t < 20.5 || t >= 60;
        var run = new Run(SwitchPort(80, Hears, _ => true));
        run.Until(80, Hears);
        Assert.DoesNotContain(run.States, s => s.State == TargetState.Down);
        Assert.Equal(TargetState.Deaf, run.States.Single(s => s.State == TargetState.Deaf).State);
        Assert.Equal(TargetState.Up, run.States[^1].State);
        Assert.InRange(run.States.First(s => s.State is TargetState.Deaf).At, 22, 26.5);
        Assert.Contains("reachprobe_capture_view{interface=\"lab0\",view=\"switched\"} 1", run.Metrics());
    }

    [Fact]
    public void Pass_SwitchPort_SilentConsole_IsUnresponsive_ThenDownWhenItsBroadcastsAreOverdue()
    {
        // Alive for 50 s: four gaps of its habit learned (three are needed), then silent.
        bool Alive(double t) => t < 50.5;
        var run = new Run(SwitchPort(100, _ => true, Alive));
        run.Until(100, Alive);
        Assert.Equal([TargetState.Up, TargetState.Unresponsive, TargetState.Down], run.States.Select(s => s.State));
        // Its habit: a who-has every 10 s, so down once 30 s have passed without a frame (its last answer at 50 s).
        Assert.InRange(run.States[^1].At, 79, 82);
        var incident = Assert.Single(run.Agent.Host(IPAddress.Parse(LabConsole.Ip))!.Verdict.Incidents);
        Assert.Equal(TargetState.Down, incident.State);
    }

    [Fact]
    public void Pass_ConsoleGoesDeafAndHeals_UpDeafUpNeverDown()
    {
        bool Hears(double t) => t < 20 || t >= 60;
        var run = new Run(Console(80, Hears));
        run.Until(80, Hears);
        Assert.Equal([TargetState.Up, TargetState.Deaf, TargetState.Up], run.States.Select(s => s.State));
        var deafAt = run.States.First(s => s.State == TargetState.Deaf).At;
        var upAgain = run.States.Last().At;
        Assert.InRange(deafAt, 21, 25);
        Assert.InRange(upAgain, 60, 62);
        Assert.Contains("reachprobe_target_state{target=\"console\",state=\"up\"} 1", run.Metrics());
        Assert.Contains("reachprobe_target_state_changes_total{target=\"console\",state=\"deaf\"} 1", run.Metrics());
        // What a person reads: the view at start, one plain line a change, the incident's length when it ends.
        var said = run.Log.Messages;
        Assert.Contains("the capture on lab0 starts with the switched view (until its frames show otherwise; from a switched view a silent target is unresponsive before it is down)", said);
        Assert.Contains("console (198.18.0.27) is UP", said);
        Assert.Matches(@"^console \(198\.18\.0\.27\) is DEAF: transmits \(\d+ frames?, DNS query repeated after answer ×\d+.*\) but answered none of \d+ probe attempts?$", said.Single(l => l.Contains("DEAF")));
        var again = said.Single(l => l.Contains("UP again"));
        Assert.Matches(@"^console \(198\.18\.0\.27\) is UP again after \d+ s \(deaf\)$", again);
        var deaf = run.Log.Lines.Single(l => l.Message.Contains("DEAF"));
        Assert.Equal((1002, "TargetFailing"), (deaf.Event.Id, deaf.Event.Name));
        run.Agent.Dispose();
        Assert.Equal("stopping after 1 min 20 s: 1 target(s): 1 up", run.Log.Messages[^1]);
    }

    [Fact]
    public void Pass_LongDeafness_StaysDeafOnTheConsolesOwnChatter()
    {
        bool Hears(double t) => t < 10;
        var run = new Run(Console(400, Hears));
        run.Until(400, Hears);
        Assert.Equal([TargetState.Up, TargetState.Deaf], run.States.Select(s => s.State));
    }

    [Fact]
    public void Pass_FivePercentLoss_StaysUp()
    {
        var random = new Random(5);
        var lost = Enumerable.Range(0, 600).Select(_ => random.NextDouble() < 0.05).ToArray();
        bool Hears(double t) => !lost[(int)t];
        var run = new Run(Console(600, Hears));
        run.Until(600, Hears);
        Assert.True(lost.Count(l => l) >= 20, "the seed loses enough probes to matter");
        Assert.Equal([TargetState.Up], run.States.Select(s => s.State));
    }

    [Fact]
    public void Pass_ReplyOnTheWireButNotOnTheSocket_IsUnknownNotDeaf()
    {
        var run = new Run(Console(40, _ => true));
        run.Until(40, t => t < 10);
        Assert.DoesNotContain(run.States, s => s.State is TargetState.Deaf or TargetState.Down);
        Assert.Equal(TargetState.Unknown, run.States[^1].State);
        Assert.InRange(run.States[^1].At, 10, 13);
    }

    [Fact]
    public void Pass_BridgePortLosesCarrier_DownAtOnceNeverDeaf()
    {
        bool LinkUp(double t) => t < 20;
        var run = new Run(Console(40, _ => true, LinkUp), bridge: true);
        run.Until(20, LinkUp);
        run.Links.Carrier = false;
        run.Until(40, LinkUp);
        Assert.Equal([TargetState.Up, TargetState.Down], run.States.Select(s => s.State));
        Assert.InRange(run.States[^1].At, 20, 20.3);
    }

    [Fact]
    public void Pass_Bridge_ClonedMacAnswersForADeafConsole_NeverUp_DownWhenItsOwnPortDrops()
    {
        // From 20 s the console is deaf, and a host on another bridge port sends with its MAC and address, answering
        // every ping: the replies on the wire come from the console's own MAC. The bridge's forwarding database shows
        // the MAC behind the other port from 20.5 s. Nothing answered is proof from then on; its own port's link is.
        bool Hears(double t) => t < 20;
        var wire = Console(60, Hears);
        for (var t = 20; t < 60; t++) wire.Add(t + 0.0003, Frames.EchoReply(LabConsole, LabProbe, MonitorId, (ushort)t));
        var run = new Run(wire, bridge: true);
        run.Until(20.5, _ => true);
        run.Links.Cloned = "att0";
        run.Until(40, _ => true);
        Assert.Equal([TargetState.Up, TargetState.Unknown], run.States.Select(s => s.State));
        Assert.InRange(run.States[^1].At, 20.5, 21);
        Assert.Matches("reachprobe_target_mac_conflicts_total\\{target=\"console\",mac=\"" + LabConsole.Mac + "\"\\} [1-9]", run.Metrics());
        run.Links.Carrier = false; // the console unplugged from its own port; the clone goes on answering
        run.Until(60, _ => true);
        Assert.Equal([TargetState.Up, TargetState.Unknown, TargetState.Down], run.States.Select(s => s.State));
    }

    [Fact]
    public void Pass_Bridge_AClonesFirstAnswers_BeforeTheBridgeIsRead_NeverMakeADeafConsoleUp()
    {
        // The console is deaf from 10 s. At 20 s a clone on another port starts answering; the bridge's database shows
        // the MAC there from its first frame, but the agent reads it only at its next tick: the answers in between
        // wait for that reading (HostMonitor.HoldProofs) and are dropped.
        bool Hears(double t) => t < 10;
        var wire = Console(40, Hears);
        for (var t = 20; t < 40; t++) wire.Add(t + 0.0003, Frames.EchoReply(LabConsole, LabProbe, MonitorId, (ushort)t));
        var run = new Run(wire, bridge: true);
        run.Until(20, Hears);
        Assert.Equal(TargetState.Deaf, run.State);
        run.Links.Cloned = "att0";
        run.Until(40, _ => true);
        Assert.Equal([TargetState.Up, TargetState.Deaf, TargetState.Unknown], run.States.Select(s => s.State));
    }

    [Fact]
    public void Pass_Bridge_ClonesRepliesOnTheWire_WhileOurSocketTimesOut_AreNotTheMonitorBeingBlind()
    {
        // The console is unplugged from its own port; the clone answers our pings on the wire, and our socket times out
        // (a busy monitor). The clone's replies carry the console's MAC, but they say nothing about our socket: down.
        var wire = Console(40, _ => true, t => t < 20);
        for (var t = 20; t < 40; t++) wire.Add(t + 0.0003, Frames.EchoReply(LabConsole, LabProbe, MonitorId, (ushort)t));
        var run = new Run(wire, bridge: true);
        run.Until(20, _ => true);
        run.Links.Cloned = "att0";
        run.Links.Carrier = false;
        run.Until(40, _ => false);
        Assert.Equal(TargetState.Down, run.States[^1].State);
        Assert.DoesNotContain(run.States.Skip(1), s => s.State == TargetState.Up);
    }

    [Fact]
    public void Pass_CaptureFailsAndComesBack_UnknownThenUpAgain()
    {
        var run = new Run(Console(60, _ => true));
        run.Until(20, _ => true);
        run.Source.Error = "The interface went down";
        run.Source.FailOpen = true;
        run.Until(30, _ => true);
        Assert.Contains("reachprobe_capture_up{interface=\"lab0\"} 0", run.Metrics());
        run.Source.Error = null;
        run.Source.FailOpen = false;
        run.Until(40, _ => true);
        Assert.Equal([TargetState.Up, TargetState.Unknown, TargetState.Up], run.States.Select(s => s.State));
        Assert.InRange(run.States[1].At, 20, 20.3);
        Assert.InRange(run.States[2].At, 30, 36);
        Assert.Contains("reachprobe_capture_up{interface=\"lab0\"} 1", run.Metrics());
    }

    private static TargetConfig Target(string name, LanHost h) =>
        new() { Name = name, Ip = IPAddress.Parse(h.Ip), Probes = [], Interval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1) };

    [Fact]
    public void Pass_ATargetKnownByItsMac_IsFollowedToItsNewAddress_StateCarriesOn()
    {
        // The console by its MAC alone: its address is learned from its first frame and followed when a DHCP renew moves
        // it (a gratuitous ARP from the new address, and its traffic from there on). The router pings it every second.
        var renewed = new LanHost("198.18.0.28", LabConsole.Mac);
        var s = new Scenario("follow");
        Ping(s, LabRouter, LabConsole, 7, 1, 20, 1.0, _ => true);
        Scenarios.DnsClient(s, LabConsole, LabRouter, 0.5, 20, 2, _ => true, "store.lab");
        s.Add(20.2, Frames.GratuitousArp(renewed));
        Ping(s, LabRouter, renewed, 7, 21, 40, 1.0, _ => true);
        Scenarios.DnsClient(s, renewed, LabRouter, 20.5, 40, 2, _ => true, "store.lab");
        var clock = new FakeTimeProvider(T0);
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var log = new LogLines();
        var config = new AgentConfig
        {
            History = null,
            Targets = [new TargetConfig { Name = "console", Mac = LabConsole.Mac, Probes = [], Interval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1) }],
        };
        using var agent = AgentLoop.Create(config, "lab0", _ => new ReplaySource(s, clock), () => true, null, null, new AgentMetrics(registry), log, clock);
        var moves = new List<TargetConfig>();
        agent.Moved += moves.Add;
        string Metrics()
        {
            using var m = new MemoryStream();
            registry.CollectAndExportAsTextAsync(m).GetAwaiter().GetResult();
            return System.Text.Encoding.UTF8.GetString(m.ToArray());
        }
        var states = new List<(double, TargetState)>();
        void Until(double until)
        {
            for (var t = (clock.GetUtcNow() - T0).TotalSeconds; t <= until + 1e-9; t = Math.Round(t + 0.05, 6))
            {
                clock.SetUtcNow(T0 + TimeSpan.FromSeconds(t));
                agent.Loop.Pass(clock.GetUtcNow());
                var state = agent.Host("console")?.Verdict.State ?? TargetState.Unknown;
                if (states.Count == 0 || states[^1].Item2 != state) states.Add((t, state));
            }
        }
        Until(0.3);
        Assert.Null(agent.Host("console"));
        Assert.Contains("reachprobe_target_state{target=\"console\",state=\"unknown\"} 1", Metrics());
        Assert.Contains("waiting for its MAC on the wire", string.Join("\n", log.Messages));
        Until(19);
        Assert.Equal(IPAddress.Parse(LabConsole.Ip), Assert.Single(moves).Ip);
        var host = agent.Host("console")!;
        Assert.Equal(TargetState.Up, host.Verdict.State);
        Assert.Contains("reachprobe_target_address{target=\"console\",address=\"198.18.0.27\",family=\"ipv4\"} 1", Metrics());
        Until(40);
        Assert.Equal([IPAddress.Parse(LabConsole.Ip), renewed.Address], moves.Select(m => m.Ip));
        Assert.Same(host, agent.Host("console"));
        Assert.Null(agent.Host(IPAddress.Parse(LabConsole.Ip)));
        Assert.Equal([TargetState.Unknown, TargetState.Up], states.Select(x => x.Item2)); // no down for the address it left, no second unknown
        Assert.Empty(host.Verdict.Incidents);
        var metrics = Metrics();
        Assert.Contains("reachprobe_target_address{target=\"console\",address=\"198.18.0.28\",family=\"ipv4\"} 1", metrics);
        Assert.DoesNotContain("address=\"198.18.0.27\"", metrics);
        Assert.Contains("reachprobe_target_address_changes_total{target=\"console\"} 1", metrics);
        Assert.Contains("ip=\"198.18.0.28\",mac=\"02:00:00:00:00:27\"", metrics);
        Assert.Single(log.Messages, m => m.Contains("moved from 198.18.0.27 to 198.18.0.28", StringComparison.Ordinal));

        // A reload that adds a target keeps the followed one where it is now: its identity is its name and MAC, not an address.
        agent.Reconfigure(config with { Targets = [.. config.Targets, Target("router", LabRouter)] });
        Until(42);
        Assert.Same(host, agent.Host("console"));
        Assert.Equal(renewed.Address, agent.Current(config.Targets[0])!.Ip);
        Assert.NotNull(agent.Host(IPAddress.Parse(LabRouter.Ip)));
        Assert.Equal([TargetState.Unknown, TargetState.Up], states.Select(x => x.Item2));
    }

    [Fact]
    public async Task Pass_ADeviceAtTwoAddresses_EachProbeCountsForItsAddress_UpWhileOneFamilyAnswers()
    {
        // console.lan has an A and a AAAA record: one target, a host at each address. Its IPv4 answers throughout; from
        // 10 s nothing at its IPv6 address is answered (its IPv6 stack broken): the IPv6 host fails, the device stays up.
        var console6 = IPAddress.Parse("2001:db8::27");
        var s = new Scenario("dual");
        Ping(s, LabRouter, LabConsole, 7, 1, 30, 1.0, _ => true);
        var clock = new FakeTimeProvider(T0);
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var log = new LogLines();
        var target = new TargetConfig { Name = "console", Host = "console.lan", Probes = ProbeSpec.ParseList(ProbeSpec.Defaults, out _), Interval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1) };
        using var agent = AgentLoop.Create(new AgentConfig { History = null, Targets = [target] }, "lab0", _ => new ReplaySource(s, clock), () => true, null, null,
            new AgentMetrics(registry), log, clock, startAt: t => [IPAddress.Parse(LabConsole.Ip), console6]);
        var moves = new List<TargetConfig>();
        agent.Moved += moves.Add;
        var arp = ScheduledProbe.Of("console", new ProbeSpec(ProbeKind.Arp, "arp"), new Named("arp"), IPAddress.Parse(LabConsole.Ip), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        var ndp = ScheduledProbe.Of("console", new ProbeSpec(ProbeKind.Ndp, "ndp"), new Named("ndp"), console6, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        var states = new List<TargetState>();
        for (var t = 0.0; t <= 30; t = Math.Round(t + 0.05, 6))
        {
            clock.SetUtcNow(T0 + TimeSpan.FromSeconds(t));
            if (Math.Abs(t - Math.Round(t) - 0.5) < 1e-9)
            {
                agent.Probes.Record(arp, new ProbeResult("arp", ProbeStatus.Answered, TimeSpan.FromMilliseconds(0.3), "reply") { Mac = LabConsole.Mac }, clock.GetUtcNow());
                agent.Probes.Record(ndp, t < 10
                    ? new ProbeResult("ndp", ProbeStatus.Answered, TimeSpan.FromMilliseconds(0.3), "advertisement") { Mac = LabConsole.Mac }
                    : new ProbeResult("ndp", ProbeStatus.Timeout, TimeSpan.FromSeconds(1), "timeout"), clock.GetUtcNow());
            }
            agent.Loop.Pass(clock.GetUtcNow());
            var state = agent.Device("console")?.State ?? TargetState.Unknown;
            if (states.Count == 0 || states[^1] != state) states.Add(state);
        }
        // Its probes were made at both its addresses, one family each.
        Assert.Equal([IPAddress.Parse(LabConsole.Ip), console6], moves.Select(m => m.Ip));
        Assert.Equal(["icmp", "arp", "ddp"], moves[0].Probes.Select(p => p.Text));
        Assert.Equal(["icmp", "ndp"], moves[1].Probes.Select(p => p.Text));
        var device = agent.Device("console")!;
        Assert.Equal(2, device.Members.Count);
        var v6 = agent.Host(console6)!;
        Assert.NotEqual(TargetState.Up, v6.Verdict.State);
        Assert.Equal(TargetState.Up, agent.Host(IPAddress.Parse(LabConsole.Ip))!.Verdict.State);
        Assert.Equal([TargetState.Unknown, TargetState.Up], states);
        Assert.Empty(device.Incidents);
        using var m = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(m);
        var metrics = System.Text.Encoding.UTF8.GetString(m.ToArray());
        Assert.Contains("reachprobe_target_state{target=\"console\",state=\"up\"} 1", metrics);
        Assert.Contains("reachprobe_probe_success{target=\"console\",probe=\"arp\"} 1", metrics);
        Assert.Contains("reachprobe_probe_success{target=\"console\",probe=\"ndp\"} 0", metrics);
        Assert.Contains("reachprobe_target_address{target=\"console\",address=\"2001:db8::27\",family=\"ipv6\"} 1", metrics);
        Assert.Contains("reachprobe_target_address{target=\"console\",address=\"198.18.0.27\",family=\"ipv4\"} 1", metrics);
        Assert.Single(log.Messages, l => l.Contains("on IPv6 (2001:db8::27), still up on its other address", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Pass_ATargetKnownByItsHostName_MovesWhenItResolvesElsewhere_StateCarriesOn()
    {
        // console.lan resolved to .27 at start; after a renew its record says .28 (the resolver hands the agent the new
        // address): the same host, no incident, its probes told to follow.
        var renewed = new LanHost("198.18.0.28", LabConsole.Mac);
        var s = new Scenario("rename");
        Ping(s, LabRouter, LabConsole, 7, 1, 20, 1.0, _ => true);
        Ping(s, LabRouter, renewed, 7, 21, 30, 1.0, _ => true);
        var clock = new FakeTimeProvider(T0);
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var target = new TargetConfig { Name = "console", Host = "console.lan", Probes = [], Interval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1) };
        using var agent = AgentLoop.Create(new AgentConfig { History = null, Targets = [target] }, "lab0", _ => new ReplaySource(s, clock), () => true, null, null,
            new AgentMetrics(registry), new LogLines(), clock, startAt: t => t.Host == "console.lan" ? [IPAddress.Parse(LabConsole.Ip)] : []);
        var moves = new List<TargetConfig>();
        agent.Moved += moves.Add; // the move at start is told to a listener that comes later
        var states = new List<TargetState>();
        // Its probes' results count from the start, at the address its name resolved to (not only once it has moved).
        var arp = ScheduledProbe.Of("console", new ProbeSpec(ProbeKind.Arp, "arp"), new Named("arp"), IPAddress.Parse(LabConsole.Ip), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        string? early = null;
        for (var t = 0.0; t <= 30; t = Math.Round(t + 0.05, 6))
        {
            clock.SetUtcNow(T0 + TimeSpan.FromSeconds(t));
            if (Math.Abs(t - 2) < 1e-9)
                agent.Probes.Record(arp, new ProbeResult("arp", ProbeStatus.Answered, TimeSpan.FromMilliseconds(0.3), "reply") { Mac = LabConsole.Mac }, clock.GetUtcNow());
            if (Math.Abs(t - 3) < 1e-9)
            {
                using var at3 = new MemoryStream();
                await registry.CollectAndExportAsTextAsync(at3);
                early = System.Text.Encoding.UTF8.GetString(at3.ToArray());
            }
            if (Math.Abs(t - 20.1) < 1e-9) agent.MoveTo("console", renewed.Address);
            agent.Loop.Pass(clock.GetUtcNow());
            var state = agent.Host("console")?.Verdict.State ?? TargetState.Unknown;
            if (states.Count == 0 || states[^1] != state) states.Add(state);
        }
        Assert.Equal([IPAddress.Parse(LabConsole.Ip), renewed.Address], moves.Select(m => m.Ip));
        Assert.Contains("reachprobe_probe_success{target=\"console\",probe=\"arp\"} 1", early);
        Assert.Equal([TargetState.Unknown, TargetState.Up], states);
        Assert.Equal(renewed.Address, agent.Current(target)!.Ip);
        Assert.Empty(agent.Host("console")!.Verdict.Incidents);
        using var m = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(m);
        var metrics = System.Text.Encoding.UTF8.GetString(m.ToArray());
        Assert.Contains("reachprobe_target_address{target=\"console\",address=\"198.18.0.28\",family=\"ipv4\"} 1", metrics);
        Assert.Contains("reachprobe_target_address_changes_total{target=\"console\"} 1", metrics);
    }

    [Fact]
    public void Pass_AHostNameWithAMac_ResolvedAfterStart_ItsOwnArpThereIsNoConflict()
    {
        var s = new Scenario("name-and-mac");
        s.Add(3, Frames.GratuitousArp(LabConsole));
        var clock = new FakeTimeProvider(T0);
        var log = new LogLines();
        var target = new TargetConfig { Name = "console", Host = "console.lan", Mac = LabConsole.Mac, Probes = [], Interval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1) };
        using var agent = AgentLoop.Create(new AgentConfig { History = null, Targets = [target] }, "lab0", _ => new ReplaySource(s, clock), () => true, null, null,
            new AgentMetrics(Prometheus.Metrics.NewCustomRegistry()), log, clock);
        for (var t = 0.0; t <= 5; t = Math.Round(t + 0.05, 6))
        {
            clock.SetUtcNow(T0 + TimeSpan.FromSeconds(t));
            if (Math.Abs(t - 1) < 1e-9) agent.MoveTo("console", IPAddress.Parse(LabConsole.Ip)); // its name resolved
            agent.Loop.Pass(clock.GetUtcNow());
        }
        Assert.Single(agent.Loop.Pipeline.Hosts);
        Assert.Equal(IPAddress.Parse(LabConsole.Ip), agent.Current(target)!.Ip);
        Assert.DoesNotContain(log.Messages, m => m.Contains("not followed there", StringComparison.Ordinal));
    }

    [Fact]
    public void Reconfigure_AddsATarget_UnchangedOneKeepsItsState()
    {
        bool Hears(double t) => t < 20;
        var run = new Run(Console(50, Hears));
        run.Until(30, Hears);
        Assert.Equal(TargetState.Deaf, run.State);
        var incident = run.Agent.Host(IPAddress.Parse(LabConsole.Ip))!.Verdict.Incidents.Single();
        run.Agent.Reconfigure(new AgentConfig { History = null, Targets = [Target("console", LabConsole), Target("router", LabRouter)] });
        run.Until(40, Hears);
        Assert.Equal([TargetState.Up, TargetState.Deaf], run.States.Select(s => s.State)); // no unknown, no second incident
        Assert.Same(incident, run.Agent.Host(IPAddress.Parse(LabConsole.Ip))!.Verdict.Incidents.Single());
        Assert.NotNull(run.Agent.Host(IPAddress.Parse(LabRouter.Ip)));
        Assert.Contains("reachprobe_target_state{target=\"router\",state=", run.Metrics());
        Assert.Equal(2, run.Agent.Targets.Count);
    }

    [Fact]
    public void Reconfigure_RemovesATarget_ItsSeriesAndResultsGo()
    {
        var run = new Run(Console(30, _ => true));
        run.Until(10, _ => true);
        Assert.Contains("target=\"console\"", run.Metrics());
        run.Agent.Reconfigure(new AgentConfig { History = null, Targets = [Target("router", LabRouter)] });
        run.Until(20, _ => true); // the console's probe results still arrive: they are dropped
        Assert.Null(run.Agent.Host(IPAddress.Parse(LabConsole.Ip)));
        Assert.DoesNotContain("target=\"console\"", run.Metrics());
        Assert.Contains("reachprobe_target_state{target=\"router\",state=", run.Metrics());
    }

    [Fact]
    public void ConfigChange_TellsAddedRemovedChangedAndRestartOnly()
    {
        var console = Target("console", LabConsole);
        var current = new AgentConfig { Targets = [console, Target("router", LabRouter)] };
        var next = new AgentConfig
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 9943),
            View = CaptureView.Switched,
            Targets = [console with { Interval = TimeSpan.FromSeconds(2) }, Target("probe", LabProbe)],
        };
        next.Thresholds.SilenceWindow = TimeSpan.FromSeconds(60);
        var change = ConfigChange.Between(current, next);
        Assert.Equal(["probe"], change.Added.Select(t => t.Name));
        Assert.Equal(["router"], change.Removed.Select(t => t.Name));
        Assert.Equal(["console"], change.Changed.Select(t => t.Name));
        Assert.Equal(["listen", "capture.view", "thresholds"], change.NeedRestart);
        Assert.True(ConfigChange.Between(current, current).IsEmpty);
        // A new MAC is a new target: its state starts again.
        var moved = ConfigChange.Between(current, current with { Targets = [console with { Mac = "02:00:00:00:00:99" }, Target("router", LabRouter)] });
        Assert.Equal(["console"], moved.Added.Select(t => t.Name));
        Assert.Equal(["console"], moved.Removed.Select(t => t.Name));
    }

    [Fact]
    public void Pass_DuplicateAddressAnswersOurPings_DeafConsoleStaysDeaf()
    {
        // Another host with the console's address answers every ping (and ARP) from its own MAC; our socket gets its
        // replies. The console is deaf from 20 s: the duplicate's answers must not make it up.
        bool Hears(double t) => t < 20;
        var duplicate = new LanHost(LabConsole.Ip, "02:00:00:00:00:66");
        var wire = Console(60, Hears);
        for (var t = 5; t < 60; t++) wire.Add(t + 0.0003, Frames.EchoReply(duplicate, LabProbe, MonitorId, (ushort)t));
        for (var t = 5.5; t < 60; t += 5) wire.Add(t, Frames.ArpReply(duplicate, LabRouter));
        var run = new Run(wire);
        run.Until(60, _ => true);
        Assert.Equal([TargetState.Up, TargetState.Deaf], run.States.Select(s => s.State));
        Assert.Matches("reachprobe_target_mac_conflicts_total\\{target=\"console\",mac=\"02:00:00:00:00:66\"\\} [1-9]", run.Metrics());
    }

    /// <summary>Our pings answered by <paramref name="refuser"/>'s ICMP administratively-prohibited (a firewall's reject) while <paramref name="refuses"/>.</summary>
    private static void Refused(Scenario wire, LanHost refuser, double end, Func<double, bool> refuses)
    {
        for (var t = 0; t < end; t++)
        {
            wire.Add(t, Frames.EchoRequest(LabProbe, LabConsole, MonitorId, (ushort)t));
            if (refuses(t)) wire.Add(t + 0.0004, Frames.EchoRefused(refuser, LabProbe, MonitorId, (ushort)t));
        }
    }

    [Fact]
    public void Pass_ConsoleRejectsOurPings_RefusalIsProofOfReceipt_Up()
    {
        // The console's firewall rejects echo requests (ICMP unreachable, admin prohibited, from its own address and
        // MAC): it received them. Never deaf, never down.
        var wire = new Scenario("refuses");
        Refused(wire, LabConsole, 40, _ => true);
        Scenarios.DnsClient(wire, LabConsole, LabRouter, 0.3, 40, 2, _ => true, "store.lab");
        var run = new Run(wire) { Answer = ProbeStatus.Refused };
        run.Until(40, _ => true);
        Assert.Equal([TargetState.Up], run.States.Select(s => s.State));
        Assert.Contains("reachprobe_probes_total{target=\"console\",probe=\"icmp\",result=\"refused\"} 40", run.Metrics());
    }

    [Fact]
    public void Pass_DuplicateAddressRefusesOurPings_DeafConsoleStaysDeaf()
    {
        // From 20 s the console is deaf; another host with its address rejects our pings from its own MAC. A refusal
        // proves receipt only from the target's MAC, as an echo reply does.
        bool Hears(double t) => t < 20;
        var duplicate = new LanHost(LabConsole.Ip, "02:00:00:00:00:66");
        var wire = Console(60, Hears);
        for (var t = 20; t < 60; t++) wire.Add(t + 0.0003, Frames.EchoRefused(duplicate, LabProbe, MonitorId, (ushort)t));
        var run = new Run(wire);
        run.Until(20, Hears);
        run.Answer = ProbeStatus.Refused;
        run.Until(60, _ => true);
        Assert.Equal([TargetState.Up, TargetState.Deaf], run.States.Select(s => s.State));
    }

    [Fact]
    public void Pass_ReplyAfterTheProbesDeadline_IsNotTheMonitorBeingBlind()
    {
        // The console answers every ping 1.2 s late: after our 1 s timeout. The late reply is for the timed-out
        // attempt, so it says nothing about our socket: never unknown.
        var wire = new Scenario("late");
        for (var t = 0; t < 40; t++)
        {
            wire.Add(t, Frames.EchoRequest(LabProbe, LabConsole, MonitorId, (ushort)t));
            wire.Add(t + 1.2, Frames.EchoReply(LabConsole, LabProbe, MonitorId, (ushort)t));
        }
        Scenarios.DnsClient(wire, LabConsole, LabRouter, 0.3, 40, 2, _ => true, "store.lab");
        var run = new Run(wire);
        run.Until(40, _ => false);
        Assert.DoesNotContain(TargetState.Unknown, run.States.Select(s => s.State));
        Assert.Equal(TargetState.Up, run.States[^1].State);
    }

    [Fact]
    public void Pass_AnotherPingersReplies_SayNothingAboutOurSocket()
    {
        // The router pings the console and gets answers; our own pings go unanswered (a firewall between the console
        // and the monitor only). Another pinger's replies do not make our socket "blind": the console answers others.
        var wire = new Scenario("others");
        Ping(wire, LabRouter, LabConsole, 0x0777, 0.5, 40, 1.0, _ => true);
        for (var t = 0; t < 40; t++) wire.Add(t, Frames.EchoRequest(LabProbe, LabConsole, MonitorId, (ushort)t));
        var run = new Run(wire);
        run.Until(40, _ => false);
        Assert.DoesNotContain(TargetState.Unknown, run.States.Select(s => s.State));
        Assert.DoesNotContain("its echo reply reached the wire but not our socket", run.Metrics());
    }

    [Fact]
    public void Pass_ResolverDown_IsTheResolversFault_NotTheTargets()
    {
        // A dns:NAME probe asks the monitor's resolver (not the console): the resolver is gone, its probe times out
        // every second, while the console answers everything else. The console stays up; the failure is counted as
        // the resolver's.
        using var viaResolver = new DnsProbe("dns:store.lab", IPAddress.Parse("198.18.0.53"), "store.lab");
        var dns = ScheduledProbe.Of("console", new ProbeSpec(ProbeKind.Dns, "dns:store.lab", Query: "store.lab"), viaResolver, IPAddress.Parse(LabConsole.Ip),
            TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        var run = new Run(Console(40, _ => true));
        run.Until(5, _ => true);
        for (var t = 5; t < 30; t++)
        {
            run.Agent.Probes.Record(dns, new ProbeResult(dns.Probe.Name, ProbeStatus.Timeout, TimeSpan.FromSeconds(1), "no answer"), T0 + TimeSpan.FromSeconds(t));
            run.Until(t + 1, _ => true);
        }
        Assert.Equal([TargetState.Up], run.States.Select(s => s.State));
        Assert.Contains("reachprobe_probes_total{target=\"console\",probe=\"dns:store.lab\",result=\"resolver_down\"} 25", run.Metrics());
    }

    [Fact]
    public async Task Create_AThousandTargets_CapturesByTheirSubnets_AndExportsTheFilter()
    {
        // 1,000 "host" terms would compile past the kernel's 4,096 BPF instructions: the capture falls back to the
        // targets' subnets, logs it and exports which filter is in use.
        var clock = new FakeTimeProvider(T0);
        var targets = Enumerable.Range(0, 1000).Select(i => new TargetConfig
        {
            Name = $"198.18.{16 + i / 250}.{1 + i % 250}", Ip = IPAddress.Parse($"198.18.{16 + i / 250}.{1 + i % 250}"), Probes = [],
            Interval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1),
        }).ToList();
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var source = new ReplaySource(new Scenario("quiet"), clock);
        var agent = AgentLoop.Create(new AgentConfig { History = null, Targets = targets }, "lab0", _ => source, () => true, null,
            Addresses.ToUInt(IPAddress.Parse(LabProbe.Ip)), new AgentMetrics(registry), NullLogger.Instance, clock);
        agent.Loop.Pass(clock.GetUtcNow());
        using var s = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(s);
        var line = System.Text.Encoding.UTF8.GetString(s.ToArray()).Split('\n').Single(l => l.StartsWith("reachprobe_capture_filter_instructions{", StringComparison.Ordinal));
        Assert.StartsWith("""reachprobe_capture_filter_instructions{interface="lab0",kind="subnets"} """, line);
        Assert.InRange(double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), 1, CaptureFilter.KernelLimit);
    }
}
