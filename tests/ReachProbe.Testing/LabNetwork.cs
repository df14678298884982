using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using ReachProbe.Probes;

namespace ReachProbe.Testing;

/// <summary>How the lab speaks IPv6.</summary>
public enum LabIPv6
{
    /// <summary>Not at all: IPv6 is off in every namespace (quiet captures).</summary>
    Off,
    /// <summary>Beside IPv4: every host has its 2001:db8::/64 address too.</summary>
    DualStack,
    /// <summary>The console has no IPv4 address and answers no ARP (arp_ignore 8); the others are dual-stack.</summary>
    ConsoleOnly,
}

/// <summary>Where the lab plugs the monitor in.</summary>
public enum LabTopology
{
    /// <summary>Inline: the probe host's bridge joins the console and the router (the field report's Raspberry Pi); it sees all their traffic.</summary>
    Bridge,
    /// <summary>
    /// A plain switch port: a learning bridge in a namespace of its own joins the console, the router and the probe host,
    /// each on a port; the probe sees only its own conversations and the others' broadcasts.
    /// </summary>
    Switch,
}

/// <summary>
/// The field report's LAN in network namespaces (see shared/docs/lab.md): a console with a TCP service and a DDP
/// responder, a router with a real dnsmasq, and a probe host whose bridge joins them (or a switch joining all three). Names carry a random suffix;
/// everything is torn down by name and PID on dispose, even after a failed test. Nothing leaves the namespaces:
/// all addresses are in 198.18.0.0/24.
/// </summary>
public sealed partial class LabNetwork : IDisposable
{
    public const string ConsoleIp = "198.18.0.27", RouterIp = "198.18.0.1", ProbeIp = "198.18.0.12";
    public const string ConsoleMac = "02:00:00:00:00:27";
    /// <summary>The probe host's port on the switch (<see cref="LabTopology.Switch"/>).</summary>
    public const string ProbeMac = "02:00:00:00:00:12";
    public const int ConsoleTcpPort = 9295;

    /// <summary>The lab's IPv6 addresses (documentation prefix 2001:db8::/64), when it is built with IPv6.</summary>
    public const string ConsoleIp6 = "2001:db8::27", RouterIp6 = "2001:db8::1", ProbeIp6 = "2001:db8::12";

    /// <summary>How the lab speaks IPv6: not at all (the default, quiet captures), beside IPv4, or the console IPv6 only.</summary>
    public LabIPv6 IPv6 { get; }

    private readonly Action<string>? _log;
    private readonly string _dir;
    private readonly List<Process> _processes = [];
    private readonly List<IDisposable> _sockets = [];
    private readonly CancellationTokenSource _stop = new();
    private Process? _dnsmasq;

    public string Console { get; }
    public string Router { get; }
    public string Probe { get; }

    /// <summary>The switch's namespace (<see cref="LabTopology.Switch"/> only).</summary>
    public string Switch { get; }

    /// <summary>Where the monitor is plugged in.</summary>
    public LabTopology Topology { get; }

    /// <summary>The probe host's interface the agent captures on: its bridge inline, its one port on a switch.</summary>
    public string MonitorInterface => Topology == LabTopology.Switch ? "p0" : "br0";

    /// <summary>The attacker's namespace, once <see cref="AddDuplicate"/> made it.</summary>
    public string Attacker { get; }
    private bool _attacker;

    /// <summary>The attacker's own MAC.</summary>
    public const string AttackerMac = "02:00:00:00:00:66";

    /// <summary>The program under test: reachprobe.dll beside the running assembly unless set.</summary>
    public string ReachprobeDll { get; set; } = Path.Combine(AppContext.BaseDirectory, "reachprobe.dll");

    /// <summary>
    /// How the program is run: <c>dotnet ReachprobeDll</c> unless set — a packaged binary, or one run under emulation
    /// (<c>qemu-aarch64-static -L / …/reachprobe</c>).
    /// </summary>
    public string[]? Program { get; set; }

    /// <summary>Environment for the program (e.g. a PATH without dotnet); null values remove a variable.</summary>
    public Dictionary<string, string?> ProgramEnvironment { get; } = [];

    private string[] Command => Program ?? ["dotnet", ReachprobeDll];

    private void Environ(ProcessStartInfo psi)
    {
        foreach (var (k, v) in ProgramEnvironment)
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
    }

    /// <summary>What the DDP responder answers: 200 awake or 620 standby.</summary>
    public int DdpStatus { get; set; } = 200;

    /// <summary>The system-version the console's DDP answer gives (07020001 is firmware 7.02).</summary>
    public string SystemVersion { get; set; } = "07020001";

    private LabNetwork(Action<string>? log, LabTopology topology, LabIPv6 ipv6)
    {
        _log = log;
        Topology = topology;
        IPv6 = ipv6;
        var suffix = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
        Console = $"rpc-{suffix}";
        Router = $"rpr-{suffix}";
        Probe = $"rpp-{suffix}";
        Attacker = $"rpa-{suffix}";
        Switch = $"rps-{suffix}";
        _dir = Directory.CreateTempSubdirectory($"reachprobe-lab-{suffix}-").FullName;
    }

    /// <summary>Builds the lab. Throws <see cref="LabUnavailableException"/>, saying why, when not root.</summary>
    public static LabNetwork Create(Action<string>? log = null, LabTopology topology = LabTopology.Bridge, LabIPv6 ipv6 = LabIPv6.Off)
    {
        RequireRoot();
        var lab = new LabNetwork(log, topology, ipv6);
        try
        {
            lab.Build();
            return lab;
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    public static void RequireRoot()
    {
        if (geteuid() != 0)
            throw new LabUnavailableException("lab tests need root (they build network namespaces): run them as root, as .ci/run does, "
                + "or run the unit tests only with: bash .ci/test --filter \"Category!=Lab\"");
    }

    private string[] Namespaces => Topology == LabTopology.Switch
        ? (_attacker ? [Console, Router, Probe, Switch, Attacker] : [Console, Router, Probe, Switch])
        : (_attacker ? [Console, Router, Probe, Attacker] : [Console, Router, Probe]);

    private void Build()
    {
        foreach (var ns in Namespaces)
        {
            Run("ip", "netns", "add", ns);
            Run("ip", "-n", ns, "link", "set", "lo", "up");
            if (IPv6 == LabIPv6.Off) Run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1");
            // No duplicate address detection and no router advertisements: addresses work at once (lab.md, dual stack).
            // Addresses kept when a link goes down, as a device that gets its address back on reconnecting (SLAAC,
            // DHCPv6) has it again: by default the kernel drops a down link's IPv6 addresses, and a console whose link
            // came back would answer nothing at its address — alive on the wire, so "deaf", truly, but not the fault
            // a link-down test means.
            else Run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                "net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0", "net.ipv6.conf.all.keep_addr_on_down=1", "net.ipv6.conf.default.keep_addr_on_down=1");
        }
        if (Topology == LabTopology.Switch) BuildSwitch();
        else BuildBridge();
        if (IPv6 == LabIPv6.ConsoleOnly) Run("ip", "netns", "exec", Console, "sysctl", "-q", "-w", "net.ipv4.conf.all.arp_ignore=8");
        else Run("ip", "-n", Console, "addr", "add", $"{ConsoleIp}/24", "dev", "c0");
        Run("ip", "-n", Console, "link", "set", "c0", "up");
        Run("ip", "-n", Router, "addr", "add", $"{RouterIp}/24", "dev", "r0");
        Run("ip", "-n", Router, "link", "set", "r0", "up");
        if (IPv6 != LabIPv6.Off)
        {
            Run("ip", "-n", Console, "-6", "addr", "add", $"{ConsoleIp6}/64", "dev", "c0", "nodad");
            Run("ip", "-n", Router, "-6", "addr", "add", $"{RouterIp6}/64", "dev", "r0", "nodad");
            Run("ip", "-n", Probe, "-6", "addr", "add", $"{ProbeIp6}/64", "dev", MonitorInterface, "nodad");
        }
        StartDns();
        InNamespace(Console, StartConsoleServices);
    }

    /// <summary>A learning switch (no STP, no flooding of learned unicast) with one port each for console, router and probe.</summary>
    private void BuildSwitch()
    {
        Run("ip", "link", "add", "c0", "netns", Console, "address", ConsoleMac, "type", "veth", "peer", "name", "sc0", "netns", Switch);
        Run("ip", "link", "add", "r0", "netns", Router, "address", "02:00:00:00:00:01", "type", "veth", "peer", "name", "sr0", "netns", Switch);
        Run("ip", "link", "add", "p0", "netns", Probe, "address", ProbeMac, "type", "veth", "peer", "name", "sp0", "netns", Switch);
        Run("ip", "-n", Switch, "link", "add", "sw0", "type", "bridge", "stp_state", "0", "forward_delay", "0");
        foreach (var port in new[] { "sc0", "sr0", "sp0" })
        {
            Run("ip", "-n", Switch, "link", "set", port, "master", "sw0");
            Run("ip", "-n", Switch, "link", "set", port, "up");
        }
        Run("ip", "-n", Switch, "link", "set", "sw0", "up");
        Run("ip", "-n", Probe, "addr", "add", $"{ProbeIp}/24", "dev", "p0");
        Run("ip", "-n", Probe, "link", "set", "p0", "up");
    }

    private void BuildBridge()
    {
        Run("ip", "link", "add", "c0", "netns", Console, "address", ConsoleMac, "type", "veth", "peer", "name", "pc0", "netns", Probe);
        Run("ip", "link", "add", "r0", "netns", Router, "address", "02:00:00:00:00:01", "type", "veth", "peer", "name", "pr0", "netns", Probe);
        Run("ip", "-n", Probe, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0");
        foreach (var port in new[] { "pc0", "pr0" })
        {
            Run("ip", "-n", Probe, "link", "set", port, "master", "br0");
            Run("ip", "-n", Probe, "link", "set", port, "promisc", "on", "up");
        }
        Run("ip", "-n", Probe, "addr", "add", $"{ProbeIp}/24", "dev", "br0");
        Run("ip", "-n", Probe, "link", "set", "br0", "up");
    }

    /// <summary>
    /// A fourth host on the bridge (port pa0) holding the console's address too (a duplicate IP, or a spoofer): its
    /// kernel answers ARP and pings for 198.18.0.27, and it announces the address every second — from its own MAC, or
    /// with <paramref name="clone"/> from the console's (a full impersonation: the bridge then sees the console's MAC
    /// behind two ports).
    /// </summary>
    public void AddDuplicate(bool clone = false)
    {
        AddBridgeHost(clone ? ConsoleMac : AttackerMac, ConsoleIp, "the duplicate host");
        Start("ip", "netns", "exec", Attacker, "arping", "-q", "-U", "-i", "1", "-I", "a0", "-s", ConsoleIp, ConsoleIp);
    }

    /// <summary>
    /// Sends with <paramref name="send"/> every second until the lab ends, as a host's background traffic: a socket
    /// error (no route yet, a link down) waits a second and tries again.
    /// </summary>
    private void EverySecond(Func<CancellationToken, Task> send) => _ = Task.Run(async () =>
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await send(_stop.Token);
                await Task.Delay(1000, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(1000);
            }
        }
    });

    /// <summary>The second segment's console: its address, and the monitor's own on that segment.</summary>
    public const string Console2Ip = "198.19.0.27", Probe2Ip = "198.19.0.12", Console2Mac = "02:00:00:00:01:27";

    /// <summary>
    /// A second segment on a second interface of the monitor (bridge br1, 198.19.0.0/24), with a console of its own in
    /// the attacker's namespace (port pa0 of br1), which sends a datagram to the monitor every second, as the first
    /// console chatters: an agent on two interfaces watches one console on each.
    /// </summary>
    public void AddSecondSegment()
    {
        if (Topology != LabTopology.Bridge) throw new InvalidOperationException("the second segment is a second bridge");
        AddAttackerNamespace();
        Run("ip", "link", "add", "a0", "netns", Attacker, "address", Console2Mac, "type", "veth", "peer", "name", "pa0", "netns", Probe);
        Run("ip", "-n", Probe, "link", "add", "br1", "type", "bridge", "stp_state", "0", "forward_delay", "0");
        Run("ip", "-n", Probe, "link", "set", "pa0", "master", "br1");
        Run("ip", "-n", Probe, "link", "set", "pa0", "promisc", "on", "up");
        Run("ip", "-n", Probe, "addr", "add", $"{Probe2Ip}/24", "dev", "br1");
        Run("ip", "-n", Probe, "link", "set", "br1", "up");
        Run("ip", "-n", Attacker, "addr", "add", $"{Console2Ip}/24", "dev", "a0");
        Run("ip", "-n", Attacker, "link", "set", "a0", "up");
        UdpClient? udp = null;
        InNamespace(Attacker, () => udp = new UdpClient(new IPEndPoint(IPAddress.Any, 0)));
        _sockets.Add(udp!);
        var to = new IPEndPoint(IPAddress.Parse(Probe2Ip), 5353);
        EverySecond(async stop => await udp!.SendAsync("hello"u8.ToArray(), to, stop));
    }

    /// <summary>The second segment's console deaf: everything arriving on its interface dropped (netdev ingress).</summary>
    public void MakeSecondConsoleDeaf()
    {
        Run("ip", "netns", "exec", Attacker, "nft", "add", "table", "netdev", "deaf");
        Run("ip", "netns", "exec", Attacker, "nft", "add", "chain", "netdev", "deaf", "ingress",
            "{ type filter hook ingress device \"a0\" priority -500; policy drop; }");
    }

    /// <summary>The second segment's console hears again.</summary>
    public void HealSecondConsole() => Run("ip", "netns", "exec", Attacker, "nft", "delete", "table", "netdev", "deaf");

    /// <summary>The attacker's namespace (deleted with the lab), its loopback up and IPv6 off.</summary>
    private void AddAttackerNamespace()
    {
        Run("ip", "netns", "add", Attacker);
        _attacker = true;
        Run("ip", "-n", Attacker, "link", "set", "lo", "up");
        Run("ip", "netns", "exec", Attacker, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1");
    }

    /// <summary>A fourth host on the bridge: the attacker's namespace with <paramref name="mac"/> and <paramref name="ip"/> on port pa0.</summary>
    private void AddBridgeHost(string mac, string ip, string what)
    {
        if (Topology != LabTopology.Bridge) throw new InvalidOperationException($"{what} joins the inline bridge");
        AddAttackerNamespace();
        Run("ip", "link", "add", "a0", "netns", Attacker, "address", mac, "type", "veth", "peer", "name", "pa0", "netns", Probe);
        Run("ip", "-n", Probe, "link", "set", "pa0", "master", "br0");
        Run("ip", "-n", Probe, "link", "set", "pa0", "promisc", "on", "up");
        Run("ip", "-n", Attacker, "addr", "add", $"{ip}/24", "dev", "a0");
        Run("ip", "-n", Attacker, "link", "set", "a0", "up");
    }

    /// <summary>The silent host's address (<see cref="AddSilentHost"/>).</summary>
    public const string SilentIp = "198.18.0.33";

    /// <summary>
    /// A fourth host on the bridge (port pa0, <see cref="AttackerMac"/>, <see cref="SilentIp"/>) that sends nothing of its
    /// own: only its kernel's answers to ARP show it — as a sweep finds it.
    /// </summary>
    public void AddSilentHost() => AddBridgeHost(AttackerMac, SilentIp, "the silent host");

    /// <summary>The flooder's two made-up hosts: MACs the segment has never seen.</summary>
    public const string FloodMacA = "02:aa:00:00:00:01", FloodMacB = "02:bb:00:00:00:02";

    /// <summary>
    /// An attacker on two more ports of the switch (sa0, sb0) that sends frames from two made-up MACs
    /// (<see cref="FloodMacA"/>, <see cref="FloodMacB"/>) the segment has never seen. See <see cref="FloodBothWays"/>.
    /// </summary>
    public void AddFlooder()
    {
        if (Topology != LabTopology.Switch) throw new InvalidOperationException("the flooder joins the switch");
        AddAttackerNamespace();
        foreach (var (dev, mac, port) in new[] { ("a0", FloodMacA, "sa0"), ("b0", FloodMacB, "sb0") })
        {
            Run("ip", "link", "add", dev, "netns", Attacker, "address", mac, "type", "veth", "peer", "name", port, "netns", Switch);
            Run("ip", "-n", Switch, "link", "set", port, "master", "sw0");
            Run("ip", "-n", Switch, "link", "set", port, "up");
            Run("ip", "-n", Attacker, "link", "set", dev, "up");
        }
    }

    /// <summary>
    /// Issue 24's attack on a switch port's view: A sends to B (unknown to the switch: flooded to every port), A's port
    /// goes down and up (the switch forgets A), and B sends to A (unknown again: flooded). The monitor sees unicast
    /// between two other hosts, both ways, within a second — without being on a bridge or a mirror port.
    /// </summary>
    public void FloodBothWays()
    {
        LanHost a = new("198.18.0.201", FloodMacA), b = new("198.18.0.202", FloodMacB);
        Inject("a0", Frames.ArpRequest(a, b.Ip, unicastTo: b)); // A asks B, unicast: B is unknown to the switch, flooded
        Run("ip", "-n", Switch, "link", "set", "sa0", "down");
        Run("ip", "-n", Switch, "link", "set", "sa0", "up");
        Inject("b0", Frames.ArpReply(b, a));                    // B answers A, whom the switch forgot: flooded too
    }

    /// <summary>
    /// From the silent host's port (<see cref="AddSilentHost"/>): <paramref name="count"/> forged PlayStation discovery
    /// answers, each from a made-up MAC and address, broadcast — a LAN full of fake consoles.
    /// </summary>
    public void ForgeConsoles(int count) => InNamespace(Attacker, () =>
    {
        var nic = SharpPcap.LibPcap.LibPcapLiveDeviceList.New().First(d => d.Name == "a0");
        nic.Open(new SharpPcap.DeviceConfiguration { Mode = SharpPcap.DeviceModes.None });
        try
        {
            var all = new LanHost("198.18.0.255", "ff:ff:ff:ff:ff:ff");
            for (var i = 0; i < count; i++)
            {
                var fake = new LanHost($"198.18.{1 + i / 250}.{1 + i % 250}", $"02:fe:00:{i >> 16 & 0xFF:x2}:{i >> 8 & 0xFF:x2}:{i & 0xFF:x2}");
                nic.SendPacket(Frames.Udp(fake, all, 40000, 9303, Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 200 Ok\nhost-id:{i:X12}\nhost-type:PS5\nhost-name:FAKE-{i}\nsystem-version:09000000\ndevice-discovery-protocol-version:00030010\n")));
            }
        }
        finally
        {
            nic.Close();
        }
    });

    /// <summary>The DHCP client's MAC (<see cref="DhcpClientRequest"/>).</summary>
    public const string DhcpClientMac = "02:00:00:00:00:88";

    /// <summary>
    /// From the silent host's port: a DHCP client (<see cref="DhcpClientMac"/>, named "<paramref name="hostName"/>")
    /// asks the lab's dnsmasq for <paramref name="address"/> (a request in INIT-REBOOT, as after a reboot; dnsmasq is
    /// authoritative and acknowledges it, broadcast).
    /// </summary>
    public void DhcpClientRequest(string hostName, string address) => Inject("a0", Frames.Udp(new LanHost("0.0.0.0", DhcpClientMac),
        new LanHost("255.255.255.255", "ff:ff:ff:ff:ff:ff"), 68, 67, Frames.Dhcp(1, DhcpClientMac, 3, hostName, vendorClass: "android-dhcp-14", requested: address)));

    /// <summary>Sends a raw frame out of the attacker's interface (libpcap, from a thread inside its namespace).</summary>
    private void Inject(string device, byte[] frame) => InNamespace(Attacker, () =>
    {
        var nic = SharpPcap.LibPcap.LibPcapLiveDeviceList.New().First(d => d.Name == device);
        nic.Open(new SharpPcap.DeviceConfiguration { Mode = SharpPcap.DeviceModes.None });
        try
        {
            nic.SendPacket(frame);
        }
        finally
        {
            nic.Close();
        }
    });

    /// <summary>dnsmasq on the router: ".lan" names answer, everything else is refused; it never goes upstream.</summary>
    public void StartDns()
    {
        var hosts = Path.Combine(_dir, "hosts");
        File.WriteAllText(hosts, HostsFile());
        _dnsmasq = Start("ip", "netns", "exec", Router, "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
            $"--addn-hosts={hosts}", "--local=/lan/", "--interface=r0", "--bind-interfaces", $"--listen-address={RouterIp}",
            // DHCP too, as a home router serves it (discover's DHCP host takes its address from it).
            "--dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0,1h", "--dhcp-authoritative", $"--dhcp-leasefile={Path.Combine(_dir, "leases")}",
            $"--pid-file={Path.Combine(_dir, "dnsmasq.pid")}", "--user=root", "--log-facility=-");
        // Ready when it answers on port 53.
        for (var i = 0; i < 100 && !Run("ip", "netns", "exec", Router, "ss", "-lun").Contains($"{RouterIp}:53"); i++) Thread.Sleep(50);
    }

    private string[] _consoleRecord = [ConsoleIp];

    private string HostsFile() => string.Concat(_consoleRecord.Select(a => $"{a} console.lan\n")) + $"{RouterIp} router.lan\n";

    /// <summary>
    /// console.lan's records say <paramref name="addresses"/> now (an A record for an IPv4 one, AAAA for an IPv6 one):
    /// dnsmasq re-reads its hosts file on SIGHUP (its TTL is 0).
    /// </summary>
    public void ConsoleRecord(params string[] addresses)
    {
        _consoleRecord = addresses;
        File.WriteAllText(Path.Combine(_dir, "hosts"), HostsFile());
        if (_dnsmasq is { } d) Run("kill", "-HUP", d.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public void StopDns()
    {
        if (_dnsmasq is null) return;
        Kill(_dnsmasq);
        _dnsmasq = null;
    }

    /// <summary>
    /// Deaf on IPv4 only: ARP and IPv4 arriving at the console are dropped (netdev ingress), IPv6 and neighbour
    /// discovery still answered — a broken ARP cache or IPv4 stack, the field report's failure on a dual-stack LAN.
    /// </summary>
    public void MakeDeafOnIPv4Only()
    {
        Run("ip", "netns", "exec", Console, "nft", "add", "table", "netdev", "deaf");
        Run("ip", "netns", "exec", Console, "nft", "add", "chain", "netdev", "deaf", "ingress",
            "{ type filter hook ingress device \"c0\" priority -500; policy accept; }");
        Run("ip", "netns", "exec", Console, "nft", "add", "rule", "netdev", "deaf", "ingress", "meta", "protocol", "{", "ip,", "arp", "}", "drop");
    }

    /// <summary>Deaf: the console transmits, but nftables drops everything arriving on its interface (netdev ingress).</summary>
    public void MakeDeaf()
    {
        Run("ip", "netns", "exec", Console, "nft", "add", "table", "netdev", "deaf");
        Run("ip", "netns", "exec", Console, "nft", "add", "chain", "netdev", "deaf", "ingress",
            "{ type filter hook ingress device \"c0\" priority -500; policy drop; }");
    }

    /// <summary>
    /// The console forgets the router's MAC within seconds instead of ~30 s (base_reachable_time 1 s, first probe after
    /// 1 s), so a deaf console's ARP-asked-again-after-the-reply shows in a short test.
    /// </summary>
    public void FastArpAging()
    {
        Run("ip", "netns", "exec", Console, "sysctl", "-q", "-w", "net.ipv4.neigh.c0.base_reachable_time_ms=1000");
        Run("ip", "netns", "exec", Console, "sysctl", "-q", "-w", "net.ipv4.neigh.c0.delay_first_probe_time=1");
    }

    /// <summary>
    /// The console's neighbours (probe host, router) made permanent, so its kernel never asks for them: deaf, it
    /// sends nothing at all — not even the unicast ARP probes to the monitor that a stale entry would cause.
    /// </summary>
    public void StaticNeighbours()
    {
        Run("ip", "-n", Console, "neigh", "replace", ProbeIp, "lladdr", Topology == LabTopology.Switch ? ProbeMac : Run("ip", "-n", Probe, "-br", "link", "show", "br0").Split(' ', StringSplitOptions.RemoveEmptyEntries)[2], "dev", "c0", "nud", "permanent");
        Run("ip", "-n", Console, "neigh", "replace", RouterIp, "lladdr", "02:00:00:00:00:01", "dev", "c0", "nud", "permanent");
    }

    public void Heal() => Run("ip", "netns", "exec", Console, "nft", "delete", "table", "netdev", "deaf");

    /// <summary>Down: the console's link goes away (carrier lost on the bridge port).</summary>
    public void LinkDown() => Run("ip", "-n", Console, "link", "set", "c0", "down");

    public void LinkUp() => Run("ip", "-n", Console, "link", "set", "c0", "up");

    /// <summary>
    /// The console's own background traffic: a datagram to the router every second (so a deaf console still transmits);
    /// dual-stack, one over each family, as a console talks to the internet over both.
    /// </summary>
    public void StartChatter()
    {
        UdpClient? udp = null;
        var v6 = IPv6 == LabIPv6.ConsoleOnly;
        var both = IPv6 == LabIPv6.DualStack;
        InNamespace(Console, () => udp = both ? new UdpClient(AddressFamily.InterNetworkV6) : new UdpClient(new IPEndPoint(v6 ? IPAddress.IPv6Any : IPAddress.Any, 0)));
        if (both) udp!.Client.DualMode = true;
        _sockets.Add(udp!);
        var router = new IPEndPoint(both ? IPAddress.Parse(RouterIp).MapToIPv6() : IPAddress.Parse(v6 ? RouterIp6 : RouterIp), 5353);
        var router6 = both ? new IPEndPoint(IPAddress.Parse(RouterIp6), 5353) : null;
        EverySecond(async stop =>
        {
            await udp!.SendAsync("hello"u8.ToArray(), router, stop);
            if (router6 is not null) await udp.SendAsync("hello"u8.ToArray(), router6, stop);
        });
    }

    /// <summary>
    /// The console's own broadcasts, as a console announces itself (SSDP, mDNS, DDP): a datagram to the subnet's
    /// broadcast address every <paramref name="interval"/>. From a switch port these are all the monitor sees of it.
    /// </summary>
    public void StartBroadcasts(TimeSpan interval)
    {
        UdpClient? udp = null;
        var v6 = IPv6 == LabIPv6.ConsoleOnly;
        InNamespace(Console, () => udp = new UdpClient(new IPEndPoint(v6 ? IPAddress.IPv6Any : IPAddress.Any, 0)) { EnableBroadcast = !v6 });
        _sockets.Add(udp!);
        // An IPv6-only console announces itself to SSDP's link-local group, ff02::c, out of its one interface.
        var scope = v6 ? long.Parse(Run("ip", "netns", "exec", Console, "cat", "/sys/class/net/c0/ifindex").Trim(), System.Globalization.CultureInfo.InvariantCulture) : 0;
        _ = Task.Run(async () =>
        {
            var all = v6 ? new IPEndPoint(new IPAddress(IPAddress.Parse("ff02::c").GetAddressBytes(), scope), 1900) : new IPEndPoint(IPAddress.Parse("198.18.0.255"), 1900);
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await udp!.SendAsync("NOTIFY * HTTP/1.1\r\n\r\n"u8.ToArray(), all, _stop.Token);
                    lock (_broadcasts) _broadcasts.Add(Stopwatch.GetTimestamp());
                    await Task.Delay(interval, _stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }
                catch (SocketException)
                {
                    await Task.Delay(interval);
                }
            }
        });
    }

    private readonly List<long> _broadcasts = [];

    /// <summary>The router searches for PlayStations (DDP, PS4 and PS5) every second, as the PlayStation app does: the console's answers cross the bridge.</summary>
    public void StartDdpSearches()
    {
        UdpClient? udp = null;
        InNamespace(Router, () => udp = new UdpClient(new IPEndPoint(IPAddress.Any, 0)));
        _sockets.Add(udp!);
        EverySecond(async stop => await udp!.SendAsync(Ddp.Ps4Search, new IPEndPoint(IPAddress.Parse(ConsoleIp), Ddp.Ps4Port), stop));
    }

    /// <summary>The router answers SSDP searches (M-SEARCH to 239.255.255.250:1900) as a media renderer (a TV) does.</summary>
    public void StartSsdpResponder()
    {
        UdpClient? udp = null;
        InNamespace(Router, () =>
        {
            udp = new UdpClient();
            udp.Client.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            udp.Client.Bind(new IPEndPoint(IPAddress.Any, 1900));
            udp.JoinMulticastGroup(IPAddress.Parse("239.255.255.250"), IPAddress.Parse(RouterIp));
        });
        _sockets.Add(udp!);
        var answer = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: urn:schemas-upnp-org:device:MediaRenderer:1\r\n"
            + "SERVER: Linux/6.1 UPnP/1.0 Lab-TV/1.0\r\nUSN: uuid:lab-tv::urn:schemas-upnp-org:device:MediaRenderer:1\r\nLOCATION: http://198.18.0.1:49152/\r\n\r\n");
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    var r = await udp!.ReceiveAsync(_stop.Token);
                    if (Encoding.ASCII.GetString(r.Buffer).StartsWith("M-SEARCH", StringComparison.Ordinal)) await udp.SendAsync(answer, r.RemoteEndPoint, _stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }
                catch (SocketException)
                {
                }
            }
        });
    }

    /// <summary>
    /// The router announces itself over mDNS every second, as a printer or a TV does: an answer with an A record for
    /// its host name "<paramref name="hostName"/>.local" and a PTR record for a service (broadcast on the lab's subnet:
    /// the namespaces have no multicast route).
    /// </summary>
    public void StartMdns(string hostName, string service)
    {
        UdpClient? udp = null;
        InNamespace(Router, () => udp = new UdpClient(new IPEndPoint(IPAddress.Any, 5353)) { EnableBroadcast = true });
        _sockets.Add(udp!);
        static byte[] Name(string name) => [.. name.Split('.').SelectMany(l => new[] { (byte)l.Length }.Concat(Encoding.ASCII.GetBytes(l))), 0];
        var p = new List<byte> { 0, 0, 0x84, 0, 0, 0, 0, 2, 0, 0, 0, 0 };
        var instance = Name($"{hostName}.{service}.local");
        p.AddRange(Name($"{service}.local"));
        p.AddRange([0, 12, 0, 1, 0, 0, 0x11, 0x94, 0, (byte)instance.Length]);
        p.AddRange(instance);
        p.AddRange(Name($"{hostName}.local"));
        p.AddRange([0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4]);
        p.AddRange(IPAddress.Parse(RouterIp).GetAddressBytes());
        var message = p.ToArray();
        _ = Task.Run(async () =>
        {
            var all = new IPEndPoint(IPAddress.Parse("198.18.0.255"), 5353);
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await udp!.SendAsync(message, all, _stop.Token);
                    await Task.Delay(1000, _stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }
                catch (SocketException)
                {
                    await Task.Delay(1000);
                }
            }
        });
    }

    /// <summary>The first of the console's broadcasts sent at or after <paramref name="since"/> (Stopwatch timestamps), or null.</summary>
    public long? BroadcastAfter(long since)
    {
        lock (_broadcasts) return _broadcasts.Where(t => t >= since).Select(t => (long?)t).FirstOrDefault();
    }

    /// <summary>Gives the console another MAC (before an agent starts): labs that stand for different consoles differ in it.</summary>
    public void SetConsoleMac(string mac) => Run("ip", "-n", Console, "link", "set", "c0", "address", mac);

    /// <summary>The console announces itself (gratuitous ARP), as after its connection test.</summary>
    public void GratuitousArp() => GratuitousArp(ConsoleAddress);

    private void GratuitousArp(string address) => Run("ip", "netns", "exec", Console, "arping", "-U", "-c", "1", "-I", "c0", address);

    /// <summary>The console's address now (<see cref="ConsoleIp"/> until <see cref="MoveConsole"/>).</summary>
    public string ConsoleAddress { get; private set; } = ConsoleIp;

    /// <summary>
    /// A DHCP renew that hands the console another address: the old one goes, the new one comes (same /24, same MAC),
    /// and the console announces it with a gratuitous ARP, as a DHCP client does once its lease is bound.
    /// </summary>
    public void MoveConsole(string address)
    {
        Run("ip", "-n", Console, "addr", "del", $"{ConsoleAddress}/24", "dev", "c0");
        Run("ip", "-n", Console, "addr", "add", $"{address}/24", "dev", "c0");
        ConsoleAddress = address;
        // Not waited for: arping -c 1 lingers a second for replies a gratuitous ARP never gets.
        Start("ip", "netns", "exec", Console, "arping", "-U", "-c", "1", "-I", "c0", address);
    }

    /// <summary>
    /// Random loss of frames arriving at the console (nftables numgen at netdev ingress). netem would be the usual tool,
    /// but this kernel has no sch_netem; loss on the way in loses the probes instead of the answers, to the same effect.
    /// </summary>
    public void Loss(int percent)
    {
        Run("ip", "netns", "exec", Console, "nft", "add", "table", "netdev", "lossy");
        Run("ip", "netns", "exec", Console, "nft", "add", "chain", "netdev", "lossy", "ingress",
            "{ type filter hook ingress device \"c0\" priority -400; policy accept; }");
        Run("ip", "netns", "exec", Console, "nft", "add", "rule", "netdev", "lossy", "ingress", "numgen", "random", "mod", "100", "<", percent.ToString(System.Globalization.CultureInfo.InvariantCulture), "drop");
    }

    /// <summary>A firewall on the monitor: echo replies reach the wire (the capture sees them) but not the probe's socket.</summary>
    public void DropEchoRepliesOnTheMonitor()
    {
        Run("ip", "netns", "exec", Probe, "nft", "add", "table", "inet", "monitorfw");
        Run("ip", "netns", "exec", Probe, "nft", "add", "chain", "inet", "monitorfw", "input", "{ type filter hook input priority 0; policy accept; }");
        Run("ip", "netns", "exec", Probe, "nft", "add", "rule", "inet", "monitorfw", "input", "icmp", "type", "echo-reply", "drop");
    }

    /// <summary>Deletes the probe's bridge (the agent's capture interface).</summary>
    public void DeleteBridge() => Run("ip", "-n", Probe, "link", "del", "br0");

    /// <summary>Re-creates the bridge with its ports and address.</summary>
    public void CreateBridge()
    {
        Run("ip", "-n", Probe, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0");
        foreach (var port in new[] { "pc0", "pr0" }) Run("ip", "-n", Probe, "link", "set", port, "master", "br0");
        Run("ip", "-n", Probe, "addr", "add", $"{ProbeIp}/24", "dev", "br0");
        Run("ip", "-n", Probe, "link", "set", "br0", "up");
    }

    /// <summary>The probe host's default route goes through the lab's router: an agent with no target watches it.</summary>
    public void RouteDefaultViaRouter() => Run("ip", "-n", Probe, "route", "add", "default", "via", RouterIp);

    /// <summary>
    /// Starts the real agent in the probe namespace; its output is kept for the test log. Its history is the lab's
    /// unless <paramref name="labHistory"/> is false (then its configuration's, as a service's).
    /// </summary>
    public Process StartAgent(IEnumerable<string> args, string[]? prefix = null, bool labHistory = true)
    {
        var all = new List<string> { "netns", "exec", Probe };
        all.AddRange(prefix ?? []);
        all.AddRange([.. Command, "run"]);
        all.AddRange(args);
        // Never the system's history: the lab's own, unless the test names one.
        if (labHistory && !args.Contains("--history")) all.AddRange(["--history", HistoryPath]);
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in all) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["HOME"] = _dir;
        Environ(psi);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (AgentLog) AgentLog.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (AgentLog) AgentLog.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _processes.Add(p);
        return p;
    }

    /// <summary>
    /// A link between this lab's probe namespace and <paramref name="other"/>'s (a veth pair, deleted with either): this
    /// side <paramref name="mine"/>/30, that side <paramref name="theirs"/>/30 — the monitors' way to a central server.
    /// </summary>
    public void LinkTo(LabNetwork other, string mine, string theirs)
    {
        Run("ip", "link", "add", "fed0", "netns", Probe, "type", "veth", "peer", "name", "fed1", "netns", other.Probe);
        Run("ip", "-n", Probe, "addr", "add", $"{mine}/30", "dev", "fed0");
        Run("ip", "-n", other.Probe, "addr", "add", $"{theirs}/30", "dev", "fed1");
        Run("ip", "-n", Probe, "link", "set", "fed0", "up");
        Run("ip", "-n", other.Probe, "link", "set", "fed1", "up");
    }

    /// <summary>
    /// Starts a real Prometheus in the probe namespace with <paramref name="configText"/> (its files in the lab's
    /// directory, under <paramref name="name"/>), listening on <paramref name="listen"/>, with <paramref name="flags"/>;
    /// waits until it is ready.
    /// </summary>
    public void StartPrometheusWith(string name, string configText, string listen, params string[] flags)
    {
        var prometheus = new[] { "/usr/bin/prometheus", "/usr/local/bin/prometheus" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("prometheus is not installed (apt-get install prometheus; .ci/deps does it)");
        var dir = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        var config = Path.Combine(dir, "prometheus.yml");
        File.WriteAllText(config, configText);
        var agent = flags.Contains("--enable-feature=agent");
        Start("ip", ["netns", "exec", Probe, prometheus, $"--config.file={config}", agent ? $"--storage.agent.path={dir}/wal" : $"--storage.tsdb.path={dir}/tsdb",
            $"--web.listen-address={listen}", "--log.level=warn", .. flags]);
        var (host, port) = (listen.Split(':')[0], int.Parse(listen.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture));
        for (var i = 0; i < 300; i++)
        {
            if (HttpGet(host, port, "/-/ready") is { } r && r.Contains("Ready", StringComparison.Ordinal)) return;
            Thread.Sleep(100);
        }
        throw new TimeoutException($"prometheus ({name}) did not become ready within 30 s");
    }

    /// <summary>
    /// Starts a real Prometheus (Debian's package) in the probe namespace, scraping the agent every second with the
    /// given rule files, and waits until it is ready. Returns its base address.
    /// </summary>
    public string StartPrometheus(string agentAddress, IEnumerable<string> ruleFiles)
    {
        var prometheus = new[] { "/usr/bin/prometheus", "/usr/local/bin/prometheus" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("prometheus is not installed (apt-get install prometheus; .ci/deps does it)");
        var config = Path.Combine(_dir, "prometheus.yml");
        File.WriteAllText(config, "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n"
            + string.Concat(ruleFiles.Select(r => $"  - {r}\n"))
            + $"scrape_configs:\n  - job_name: reachprobe\n    static_configs:\n      - targets: [\"{agentAddress}\"]\n");
        const int port = 9090;
        Start("ip", "netns", "exec", Probe, prometheus, $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(_dir, "tsdb")}",
            $"--web.listen-address={ProbeIp}:{port}", "--log.level=warn");
        for (var i = 0; i < 300; i++)
        {
            if (HttpGet(ProbeIp, port, "/-/ready") is { } r && r.Contains("Ready", StringComparison.Ordinal)) return $"{ProbeIp}:{port}";
            Thread.Sleep(100);
        }
        throw new TimeoutException("prometheus did not become ready within 30 s");
    }

    /// <summary>The agent's history database in this lab (readable by the unprivileged agent of one test).</summary>
    public string HistoryPath => Path.Combine(_dir, "history.db");

    /// <summary>What the agent printed.</summary>
    public StringBuilder AgentLog { get; } = new();

    /// <summary>GET a URL from inside the probe namespace (the socket is made there). Null when nothing answers.</summary>
    public string? HttpGet(string host, int port, string path) => HttpGetIn(Probe, host, port, path);

    /// <summary>GET a URL from inside namespace <paramref name="ns"/> (HTTP/1.0, the body as text). Null when nothing answers.</summary>
    public static string? HttpGetIn(string ns, string host, int port, string path)
    {
        Socket? socket = null;
        try
        {
            InNamespace(ns, () =>
            {
                socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 5000, SendTimeout = 5000 };
                socket.Connect(IPAddress.Parse(host), port);
            });
            socket!.Send(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n"));
            using var ms = new MemoryStream();
            var buf = new byte[65536];
            int n;
            while ((n = socket.Receive(buf)) > 0) ms.Write(buf, 0, n);
            var text = Encoding.UTF8.GetString(ms.ToArray());
            var body = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            return body < 0 ? null : text[(body + 4)..];
        }
        catch (SocketException)
        {
            return null;
        }
        finally
        {
            socket?.Dispose();
        }
    }

    /// <summary>Runs the real program in the probe namespace, as a person would.</summary>
    public (int Code, string Out, string Err) Reachprobe(params string[] args)
    {
        var all = new[] { "netns", "exec", Probe }.Concat(Command).Concat(args).ToArray();
        var (code, output, error) = Exec("ip", all, TimeSpan.FromMinutes(2), Environ);
        _log?.Invoke($"$ reachprobe {string.Join(' ', args)}  → exit {code}\n{output}{error}");
        return (code, output, error);
    }

    private void StartConsoleServices()
    {
        // TCP service (both families when the lab has IPv6).
        var listener = new TcpListener(IPv6 == LabIPv6.Off ? IPAddress.Any : IPAddress.IPv6Any, ConsoleTcpPort);
        if (IPv6 != LabIPv6.Off) listener.Server.DualMode = true;
        listener.Start();
        _sockets.Add(new Disposer(listener.Stop));
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    using var c = await listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }
            }
        });
        // DDP responder: answers a PS4 search on 987 and a PS5 search on 9302, from an ephemeral port, as a console does.
        var reply = new UdpClient(new IPEndPoint(IPAddress.Any, 0));
        _sockets.Add(reply);
        foreach (var port in new[] { Ddp.Ps4Port, Ddp.Ps5Port })
        {
            var udp = new UdpClient(new IPEndPoint(IPAddress.Any, port));
            _sockets.Add(udp);
            _ = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    try
                    {
                        var r = await udp.ReceiveAsync(_stop.Token);
                        if (!Encoding.ASCII.GetString(r.Buffer).StartsWith("SRCH * HTTP/1.1", StringComparison.Ordinal)) continue;
                        var status = DdpStatus == 200 ? "200 Ok" : $"{DdpStatus} Server Standby";
                        var text = $"HTTP/1.1 {status}\nhost-id:0123456789AB\nhost-type:PS4\nhost-name:PS4-LAB\nhost-request-port:997\n"
                            + $"device-discovery-protocol-version:00020020\nsystem-version:{SystemVersion}\n";
                        await reply.SendAsync(Encoding.UTF8.GetBytes(text), r.RemoteEndPoint, _stop.Token);
                    }
                    catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                    {
                        return;
                    }
                }
            });
        }
    }

    /// <summary>Runs <paramref name="action"/> on a thread inside the namespace: sockets it creates live there.</summary>
    internal static void InNamespace(string ns, Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{ns}");
                if (setns((int)handle.DangerousGetHandle(), 0x40000000 /* CLONE_NEWNET */) != 0)
                    throw new InvalidOperationException($"setns({ns}) failed: {Marshal.GetLastPInvokeErrorMessage()}");
                action();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null) throw failure;
    }

    private string Run(string file, params string[] args)
    {
        var (code, output, error) = Exec(file, args, TimeSpan.FromSeconds(30));
        if (code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({code}): {error.Trim()}");
        return output;
    }

    private static (int Code, string Out, string Err) Exec(string file, string[] args, TimeSpan limit, Action<ProcessStartInfo>? prepare = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        prepare?.Invoke(psi);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {limit}");
        }
        return (p.ExitCode, o.Result, e.Result);
    }

    private Process Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _processes.Add(p);
        return p;
    }

    private static void Kill(Process p)
    {
        try
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var s in _sockets) s.Dispose();
        foreach (var p in _processes) Kill(p);
        foreach (var ns in Namespaces)
        {
            // Anything still running in our namespaces was started by this lab: end it by PID, then delete the namespace.
            try
            {
                var (_, pids, _) = Exec("ip", ["netns", "pids", ns], TimeSpan.FromSeconds(10));
                foreach (var pid in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    if (int.TryParse(pid, out var id)) Kill(Process.GetProcessById(id));
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or TimeoutException)
            {
            }
            Exec("ip", ["netns", "del", ns], TimeSpan.FromSeconds(10));
        }
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class Disposer(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    /// <summary>Process ids the lab started (for CPU and memory readings).</summary>
    public IEnumerable<Process> Processes => _processes;

    [LibraryImport("libc")]
    private static partial uint geteuid();
}

/// <summary>The lab cannot be built here (not root).</summary>
public sealed class LabUnavailableException(string message) : Exception(message);
