namespace ReachProbe.Testing;

/// <summary>
/// Deterministic captures of the field report's incident and the lab's failure modes. Each behaviour is a small
/// function that writes what a real host would put on the wire, healthy or deaf; the scenarios compose them.
/// </summary>
public static class Scenarios
{
    // The field report's LAN (these addresses only ever appear inside capture files).
    /// <summary>Router and DNS server.</summary>
    public static readonly LanHost Router = new("192.168.1.1", "00:1f:33:aa:00:01");
    /// <summary>The PC that pings the console (Elitegroup NIC).</summary>
    public static readonly LanHost Pc = new("192.168.1.12", "00:40:d0:06:cd:24");
    /// <summary>The console (Sony NIC).</summary>
    public static readonly LanHost GameConsole = new("192.168.1.27", "00:d9:d1:79:4d:be");
    /// <summary>The HTTP server.</summary>
    public static readonly LanHost Http = new("192.168.1.10", "00:1f:33:aa:00:10");
    /// <summary>Another host that only chatters.</summary>
    public static readonly LanHost Laptop = new("192.168.1.31", "3c:22:fb:00:00:31");

    // The lab's addresses (shared/docs/lab.md).
    /// <summary>Lab router.</summary>
    public static readonly LanHost LabRouter = new("198.18.0.1", "02:00:00:00:00:01");
    /// <summary>Lab console.</summary>
    public static readonly LanHost LabConsole = new("198.18.0.27", "02:00:00:00:00:27");
    /// <summary>Lab probe host.</summary>
    public static readonly LanHost LabProbe = new("198.18.0.12", "02:00:00:00:00:12");

    /// <summary>
    /// The field report: the PC pings the console every second; the console resolves names and connects to the HTTP
    /// server. From 757 s it is deaf: pings unanswered, the PC's ARP unanswered ×3 unicast then broadcast, DNS queries
    /// repeated after their answers, SYNs retransmitted after SYN/ACKs. At 997.3 s a gratuitous ARP; from 998 s it answers.
    /// </summary>
    public static Scenario FieldReport() => FieldReport(Router, Pc, GameConsole, Http, Laptop, "field-report");

    /// <summary>
    /// The field report's incident replayed over IPv6 (2001:db8:1::/64, the same MACs): ICMPv6 echo, neighbour
    /// discovery in ARP's place (unicast solicitations ×3 then to the solicited-node group; an unsolicited advertisement
    /// where the gratuitous ARP was), DNS and TCP over IPv6.
    /// </summary>
    public static Scenario FieldReportIPv6() =>
        FieldReport(V6(Router, "2001:db8:1::1"), V6(Pc, "2001:db8:1::12"), V6(GameConsole, "2001:db8:1::27"), V6(Http, "2001:db8:1::10"), V6(Laptop, "2001:db8:1::31"), "field-report-ipv6");

    /// <summary>The host with the same MAC at an IPv6 address.</summary>
    public static LanHost V6(LanHost host, string address) => new(address, host.Mac);

    private static Scenario FieldReport(LanHost router, LanHost pc, LanHost console, LanHost http, LanHost laptop, string name)
    {
        var s = new Scenario(name);
        const double deaf = 757, heal = 998, end = 1100;
        bool Hears(double t) => t < deaf || t >= heal;
        Ping(s, pc, console, 0x0001, 0.5, end, 1.0, t => Hears(t));
        ArpRefresh(s, pc, console, 30, end, 60, Hears, unicastTries: 3, broadcastUntil: heal);
        OwnArp(s, console, router, 45, end, 60, Hears);
        DnsClient(s, console, router, 3, end, 15, Hears, "store.playstation.lan");
        TcpClient(s, console, http, 10, end, 30, Hears, 80);
        Chatter(s, laptop, router, 1, end);
        s.Add(997.3, Frames.GratuitousArp(console));
        s.Planted.Add(new PlantedIncident(console.Ip, "deaf", deaf, heal));
        return s;
    }

    /// <summary>
    /// The lab's three phases of deafness, in one capture: (1) 100–160 s answers reach the wire and are ignored;
    /// (2) 160–220 s the router's ARP for the console goes unanswered, so its DNS queries get no answer at all;
    /// (3) 220–400 s only the console's own broadcast ARP for the router, answered every time and asked again.
    /// At 400 s a gratuitous ARP; from 401 s it answers pings again.
    /// </summary>
    public static Scenario LabPhases()
    {
        var s = new Scenario("lab-phases");
        const double deaf = 100, phase2 = 160, phase3 = 220, heal = 401, end = 460;
        bool Hears(double t) => t < deaf || t >= heal;
        Ping(s, LabProbe, LabConsole, 0x0100, 0.2, phase2, 1.0, Hears);
        Ping(s, LabProbe, LabConsole, 0x0100, heal, end, 1.0, Hears);
        ArpRefresh(s, LabProbe, LabConsole, 20, phase2, 60, Hears, unicastTries: 3, broadcastUntil: phase2);
        DnsClient(s, LabConsole, LabRouter, 2, phase2, 10, Hears, "console.lan");
        TcpClient(s, LabConsole, LabRouter, 5, phase2, 20, Hears, 8080);
        // Phase 2: the console still asks, the router cannot deliver (its ARP for the console goes unanswered).
        for (var t = phase2 + 2; t < phase3; t += 10)
        {
            var id = (ushort)(0x5000 + (int)t);
            s.Add(t, Frames.DnsQuery(LabConsole, LabRouter, 40000, id, "console.lan"));
            s.Add(t + 5, Frames.DnsQuery(LabConsole, LabRouter, 40000, id, "console.lan")); // retry, no answer ever seen
            for (var k = 0; k < 3; k++) s.Add(t + 0.001 + k, Frames.ArpRequest(LabRouter, LabConsole.Ip));
        }
        // Phase 3: bursts of who-has for the router, each answered, each asked again.
        for (var t = phase3 + 1; t < heal - 1; t += 20)
            for (var k = 0; k < 3; k++)
            {
                s.Add(t + k, Frames.ArpRequest(LabConsole, LabRouter.Ip));
                s.Add(t + k + 0.0003, Frames.ArpReply(LabRouter, LabConsole));
            }
        s.Add(400, Frames.GratuitousArp(LabConsole));
        Chatter(s, LabRouter, LabProbe, 1, end);
        s.Planted.Add(new PlantedIncident(LabConsole.Ip, "deaf", deaf, heal));
        return s;
    }

    /// <summary>A capture that begins in phase 3: the console's repeated ARP is the only sign. Deaf, never down.</summary>
    public static Scenario LabPhase3Only()
    {
        var s = new Scenario("lab-phase3");
        const double end = 180;
        for (var t = 1.0; t < end; t += 20)
            for (var k = 0; k < 3; k++)
            {
                s.Add(t + k, Frames.ArpRequest(LabConsole, LabRouter.Ip));
                s.Add(t + k + 0.0003, Frames.ArpReply(LabRouter, LabConsole));
            }
        Chatter(s, LabRouter, LabProbe, 0.5, end);
        s.Planted.Add(new PlantedIncident(LabConsole.Ip, "deaf", 2, null));
        return s;
    }

    /// <summary>The console goes silent at 200.5 s (powered off): pings and ARP for it unanswered, no frame from it. It comes back at 400 s (gratuitous ARP) and answers from 401 s.</summary>
    public static Scenario DownHost()
    {
        var s = new Scenario("down-host");
        const double off = 200.5, back = 400, end = 460;
        bool Alive(double t) => t < off || t >= back;
        Ping(s, Pc, GameConsole, 0x0200, 0.3, end, 1.0, t => Alive(t) && t >= back + 1 || t < off);
        ArpRefresh(s, Pc, GameConsole, 10, end, 60, t => t < off || t >= back + 1, unicastTries: 3, broadcastUntil: back + 1);
        DnsClient(s, GameConsole, Router, 3, off, 15, _ => true, "store.playstation.lan");
        DnsClient(s, GameConsole, Router, back + 2, end, 15, _ => true, "store.playstation.lan");
        Chatter(s, Laptop, Router, 1, end);
        s.Add(back, Frames.GratuitousArp(GameConsole));
        s.Planted.Add(new PlantedIncident(GameConsole.Ip, "down", 201.3, 401.3));
        return s;
    }

    /// <summary>
    /// What the monitor sees of the lab console from a plain switch port: its pings (every second from
    /// <paramref name="firstPing"/>, with <paramref name="pingId"/>) answered while the console hears and is alive, the
    /// router's answers too when <paramref name="pingRouter"/>, and the console's who-has for the router every 10 s —
    /// asked three times over when it cannot hear the reply, which never shows here anyway. Its DNS and TCP to the
    /// router are invisible.
    /// </summary>
    public static Scenario SwitchPort(string name, double end, Func<double, bool> hears, Func<double, bool> alive,
        ushort pingId = 0x0300, double firstPing = 0.2, bool pingRouter = true)
    {
        var s = new Scenario(name);
        Ping(s, LabProbe, LabConsole, pingId, firstPing, end, 1.0, t => hears(t) && alive(t));
        if (pingRouter) Ping(s, LabProbe, LabRouter, (ushort)(pingId + 1), firstPing + 0.2, end, 1.0, _ => true);
        for (var t = 3.0; t < end; t += 10)
            if (alive(t))
                for (var k = 0; k < (hears(t) ? 1 : 3); k++) s.Add(t + k, Frames.ArpRequest(LabConsole, LabRouter.Ip));
        return s;
    }

    /// <summary>
    /// <see cref="SwitchPort"/> with the console deaf from 104.5 s (its first who-has 8.5 s into the deafness) until
    /// 300 s.
    /// </summary>
    public static Scenario SwitchPortDeaf()
    {
        const double deaf = 104.5, heal = 300;
        var s = SwitchPort("switch-port-deaf", 360, t => t < deaf || t >= heal, _ => true);
        s.Planted.Add(new PlantedIncident(LabConsole.Ip, "deaf", deaf, heal));
        return s;
    }

    /// <summary><see cref="SwitchPort"/> with the console switched off at 100 s (nothing from it) and back at 300 s (a gratuitous ARP, then answers).</summary>
    public static Scenario SwitchPortDown()
    {
        const double off = 100, back = 300;
        var s = SwitchPort("switch-port-down", 360, _ => true, t => t < off || t >= back);
        s.Add(back - 0.5, Frames.GratuitousArp(LabConsole));
        s.Planted.Add(new PlantedIncident(LabConsole.Ip, "down", off, back));
        return s;
    }

    /// <summary>A healthy console whose transmissions are lost 5 % of the time (netem on its egress), over 10 minutes. No incident.</summary>
    public static Scenario HealthyWithLoss(int seed = 7)
    {
        var s = new Scenario("healthy-loss");
        var rng = new Random(seed);
        const double end = 600;
        var lossy = new Scenario("tmp");
        Ping(lossy, Pc, GameConsole, 0x0300, 0.1, end, 1.0, _ => true);
        ArpRefresh(lossy, Pc, GameConsole, 5, end, 60, _ => true, 3, 0);
        DnsClient(lossy, GameConsole, Router, 2, end, 15, _ => true, "store.playstation.lan");
        TcpClient(lossy, GameConsole, Http, 4, end, 30, _ => true, 80);
        foreach (var (at, frame) in lossy.Frames())
        {
            var fromConsole = frame.AsSpan(6, 6).SequenceEqual(GameConsole.Hardware.GetAddressBytes());
            if (fromConsole && rng.NextDouble() < 0.05) continue;
            s.Add(at, frame);
        }
        Chatter(s, Laptop, Router, 1, end);
        return s;
    }

    /// <summary>Pings from <paramref name="from"/> to <paramref name="to"/> every <paramref name="interval"/> s; a reply 0.4 ms later when <paramref name="answered"/>.</summary>
    public static void Ping(Scenario s, LanHost from, LanHost to, ushort id, double t0, double t1, double interval, Func<double, bool> answered)
    {
        ushort seq = (ushort)(t0 / interval);
        for (var t = t0; t < t1; t += interval, seq++)
        {
            s.Add(t, Frames.EchoRequest(from, to, id, seq));
            if (answered(t)) s.Add(t + 0.0004, Frames.EchoReply(to, from, id, seq));
        }
    }

    /// <summary>
    /// <paramref name="asker"/> refreshes its ARP entry for <paramref name="target"/> every <paramref name="period"/> s with a unicast
    /// who-has. When unanswered it retries <paramref name="unicastTries"/> times a second apart, then broadcasts every second
    /// until <paramref name="broadcastUntil"/> (a host that keeps trying to send to it).
    /// </summary>
    public static void ArpRefresh(Scenario s, LanHost asker, LanHost target, double t0, double t1, double period, Func<double, bool> answered, int unicastTries, double broadcastUntil)
    {
        var t = t0;
        while (t < t1)
        {
            if (answered(t))
            {
                s.Add(t, Frames.ArpRequest(asker, target.Ip, target));
                s.Add(t + 0.0003, Frames.ArpReply(target, asker));
                t += period;
                continue;
            }
            for (var k = 0; k < unicastTries && t < t1; k++, t += 1) s.Add(t, Frames.ArpRequest(asker, target.Ip, target));
            while (t < Math.Min(t1, broadcastUntil) && !answered(t))
            {
                s.Add(t, Frames.ArpRequest(asker, target.Ip));
                t += 1;
            }
            if (t < t1 && answered(t))
            {
                s.Add(t, Frames.ArpRequest(asker, target.Ip));
                s.Add(t + 0.0003, Frames.ArpReply(target, asker));
                t += period;
            }
        }
    }

    /// <summary>
    /// <paramref name="asker"/>'s own ARP for <paramref name="target"/>, refreshed every <paramref name="period"/> s. The target
    /// always replies; when the asker does not hear it, it asks again a second later, three times unicast then three
    /// times broadcast (Linux ucast_probes, mcast_probes), every reply on the wire.
    /// </summary>
    public static void OwnArp(Scenario s, LanHost asker, LanHost target, double t0, double t1, double period, Func<double, bool> hears)
    {
        for (var t = t0; t < t1; t += period)
        {
            for (var k = 0; k < 6; k++)
            {
                s.Add(t + k, Frames.ArpRequest(asker, target.Ip, k < 3 ? target : null));
                s.Add(t + k + 0.0003, Frames.ArpReply(target, asker));
                if (hears(t + k + 0.0003)) break;
            }
        }
    }

    /// <summary>
    /// A stub resolver asking <paramref name="server"/> every <paramref name="period"/> s. The server's answer is always on the wire;
    /// when the client does not hear it, it asks again with the same id after 1, 2 and 4 s (and is answered again).
    /// </summary>
    public static void DnsClient(Scenario s, LanHost client, LanHost server, double t0, double t1, double period, Func<double, bool> hears, string name)
    {
        var n = 0;
        for (var t = t0; t < t1; t += period, n++)
        {
            var id = (ushort)(0x1000 + n * 7919);
            var port = (ushort)(33000 + n % 20000);
            var at = t;
            foreach (var backoff in new[] { 1.0, 2.0, 4.0, 0 })
            {
                s.Add(at, Frames.DnsQuery(client, server, port, id, name));
                s.Add(at + 0.004, Frames.DnsResponse(server, client, port, id, name));
                if (hears(at + 0.004) || backoff == 0) break;
                at += backoff;
            }
        }
    }

    /// <summary>
    /// <paramref name="client"/> opens a TCP connection every <paramref name="period"/> s. The server's SYN/ACK is always on the
    /// wire; when the client does not hear it, it retransmits the SYN after 1, 2 and 4 s instead of completing the handshake.
    /// </summary>
    public static void TcpClient(Scenario s, LanHost client, LanHost server, double t0, double t1, double period, Func<double, bool> hears, ushort port)
    {
        var n = 0;
        for (var t = t0; t < t1; t += period, n++)
        {
            var sport = (ushort)(49152 + n);
            var isn = (uint)(1_000_000 + n * 104729);
            var sisn = (uint)(7_000_000 + n * 15485863);
            var at = t;
            foreach (var backoff in new[] { 1.0, 2.0, 4.0, 0 })
            {
                s.Add(at, Frames.Tcp(client, server, sport, port, isn, 0, 0x02));
                s.Add(at + 0.0005, Frames.Tcp(server, client, port, sport, sisn, isn + 1, 0x12));
                if (hears(at + 0.0005))
                {
                    s.Add(at + 0.0006, Frames.Tcp(client, server, sport, port, isn + 1, sisn + 1, 0x10));
                    s.Add(at + 0.0010, Frames.Tcp(client, server, sport, port, isn + 1, sisn + 1, 0x18, 120));
                    s.Add(at + 0.0020, Frames.Tcp(server, client, port, sport, sisn + 1, isn + 121, 0x18, 900));
                    break;
                }
                if (backoff == 0) break;
                at += backoff;
            }
        }
    }

    /// <summary>Unrelated traffic between two other hosts, one small exchange per <paramref name="interval"/> s.</summary>
    public static void Chatter(Scenario s, LanHost a, LanHost b, double interval, double t1)
    {
        ushort n = 0;
        for (var t = 0.05; t < t1; t += interval, n++)
        {
            s.Add(t, Frames.Udp(a, b, 5000, 6000, new byte[64 + n % 32]));
            s.Add(t + 0.01, Frames.Udp(b, a, 6000, 5000, new byte[48]));
        }
    }
}
