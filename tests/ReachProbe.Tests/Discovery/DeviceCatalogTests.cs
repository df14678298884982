using System.Buffers.Binary;
using System.Text;
using ReachProbe.Discovery;

namespace ReachProbe.Tests.Discovery;

/// <summary>What each protocol tells of a device, and that what anyone on the LAN says is cleaned and bounded.</summary>
public sealed class DeviceCatalogTests : IDisposable
{
    private static readonly LanHost Console = new("198.18.0.27", "02:00:00:00:00:27");
    private static readonly LanHost Phone = new("198.18.0.40", "00:d9:d1:79:4d:be");
    private static readonly LanHost Gateway = new("198.18.0.1", "02:00:00:00:00:01");
    private static readonly LanHost All = new("255.255.255.255", "ff:ff:ff:ff:ff:ff");
    private readonly string _oui = Path.GetTempFileName();

    public DeviceCatalogTests() => File.WriteAllText(_oui, """
        Registry,Assignment,Organization Name,Organization Address
        MA-L,00D9D1,Sony Interactive Entertainment Inc.,1-7-1 Konan Minato-ku Tokyo  JP 108-0075
        MA-L,98E8FA,"Nintendo Co.,Ltd","11-1 HOKOTATE-CHO KAMITOBA,MINAMI-KU KYOTO KYOTO JP 601-8501 "
        MA-M,70B3D5123,Not a 24-bit prefix,Somewhere
        """);

    public void Dispose() => File.Delete(_oui);

    private DeviceCatalog Catalog() => new(OuiRegistry.Load(_oui), gateway: Ip(Gateway.Ip));

    private static void Feed(DeviceCatalog c, byte[] frame, double at) => c.Observe(LinkKind.Ethernet, frame, At(at));

    private static Device Of(DeviceCatalog c, LanHost h) => c.Devices.Single(d => d.Mac == Mac(h.Mac));

    [Fact]
    public void Ndp_GivesItsIPv6Addresses_GlobalOnly_ItsOwnOnly()
    {
        var c = Catalog();
        var console6 = new LanHost("2001:db8::27", Console.Mac);
        var linkLocal = new LanHost("fe80::27", Console.Mac);
        var phone6 = new LanHost("2001:db8::40", Phone.Mac);
        Feed(c, Frames.NeighbourSolicitation(linkLocal, phone6.Address), 0);                                  // link-local: no address, no device
        Assert.Empty(c.Devices);
        Feed(c, Frames.NeighbourSolicitation(console6, System.Net.IPAddress.Parse("2001:db8::9c1:27"), dad: true), 1); // DAD: the address it takes
        Feed(c, Frames.NeighbourAdvertisement(console6, phone6.Hardware, phone6.Address, solicited: true), 2);   // its advertisement
        Assert.Equal([Key("2001:db8::27"), Key("2001:db8::9c1:27")], Of(c, Console).Addresses6);
        Assert.Equal(["ndp"], Of(c, Console).LearnedFrom);
        Assert.Empty(Of(c, Console).Addresses);
        // Another host's solicitation from its own address is its own (the phone's), not the console's.
        Feed(c, Frames.NeighbourSolicitation(phone6, console6.Address), 3);
        Assert.Equal([Key("2001:db8::40")], Of(c, Phone).Addresses6);
        Assert.Equal(2, Of(c, Console).Addresses6.Count);
        // The text and the JSON name the family.
        Assert.Contains("2001:db8::27", ReachProbe.Cli.DiscoverCommand.Table([Of(c, Console)]));
        Assert.Contains("\"family\": \"ipv6\"", ReachProbe.Cli.DiscoverCommand.Json([Of(c, Console)]));
    }

    [Fact]
    public void Arp_GivesTheDevicesAddress_AndTheGatewayIsARouter()
    {
        var c = Catalog();
        Feed(c, Frames.ArpRequest(Console, Gateway.Ip), 0);
        Feed(c, Frames.ArpReply(Gateway, Console), 0.01);
        Assert.Equal([Ip(Console.Ip)], Of(c, Console).Addresses);
        Assert.Equal(["arp"], Of(c, Console).LearnedFrom);
        Assert.Equal("router", Of(c, Gateway).Kind);
        Assert.True(Of(c, Console).LocallyAdministered);
        Assert.Null(Of(c, Console).Vendor); // a locally administered MAC has no vendor to tell
    }

    [Fact]
    public void Dhcp_RequestGivesItsNameAndVendorClass_TheAckItsAddress()
    {
        var c = Catalog();
        var zero = new LanHost("0.0.0.0", Phone.Mac);
        Feed(c, Frames.Udp(zero, All, 68, 67, Frames.Dhcp(op: 1, Phone.Mac, type: 3, hostName: "PS5-123\u0007", vendorClass: "PS5", requested: "198.18.0.40")), 0);
        Feed(c, Frames.Udp(Gateway, All, 67, 68, Frames.Dhcp(op: 2, Phone.Mac, type: 5, yiaddr: "198.18.0.41")), 0.01);
        var d = Of(c, Phone);
        Assert.Equal(["PS5-123"], d.Names); // the bell is gone
        Assert.Equal("PS5", d.VendorClass);
        Assert.Equal([Ip("198.18.0.40"), Ip("198.18.0.41")], d.Addresses);
        Assert.Equal("Sony Interactive Entertainment Inc.", d.Vendor);
        Assert.Equal(["dhcp"], d.LearnedFrom);
    }

    [Fact]
    public void Mdns_AnswerNamesItsHostAndServices_ATvByItsService()
    {
        var c = Catalog();
        var tv = new LanHost("198.18.0.50", "02:00:00:00:00:50");
        Feed(c, Frames.Udp(tv, new LanHost("224.0.0.251", "01:00:5e:00:00:fb"), 5353, 5353,
            Mdns(("_googlecast._tcp.local", 12, Name("Living-TV._googlecast._tcp.local")), ("Living-TV.local", 1, [198, 18, 0, 50]), ("Elsewhere.local", 1, [198, 18, 0, 99]))), 0);
        var d = Of(c, tv);
        Assert.Equal(["Living-TV"], d.Names); // its own address only: an A record for another address names someone else
        Assert.Equal([Ip(tv.Ip)], d.Addresses);
        Assert.Contains("_googlecast._tcp", d.Services);
        Assert.Equal("tv", d.Kind);
    }

    [Fact]
    public void Ssdp_NotifyFromAnXbox_IsAnXbox()
    {
        var c = Catalog();
        var xbox = new LanHost("198.18.0.60", "02:00:00:00:00:60");
        Feed(c, Frames.Udp(xbox, new LanHost("239.255.255.250", "01:00:5e:7f:ff:fa"), 1900, 1900, Encoding.ASCII.GetBytes(
            "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: urn:schemas-upnp-org:device:MediaRenderer:1\r\nSERVER: Microsoft-Windows/10.0 UPnP/1.0 Xbox/10.0\r\nNTS: ssdp:alive\r\n\r\n")), 0);
        var d = Of(c, xbox);
        Assert.Equal("xbox", d.Kind);
        Assert.Equal("Microsoft-Windows/10.0 UPnP/1.0 Xbox/10.0", d.Model);
        Assert.Equal(["ssdp"], d.LearnedFrom);
    }

    [Fact]
    public void Ddp_AnswerMakesAPlayStation_WithModelNameFirmwareAndStandby()
    {
        var c = Catalog();
        Feed(c, Frames.Udp(Console, Gateway, 40123, 9303, Encoding.ASCII.GetBytes( // from an ephemeral port, as the consoles answer
            "HTTP/1.1 620 Server Standby\nhost-id:AABBCC\nhost-type:PS5\nhost-name:Living Room PS5\nsystem-version:07020001\ndevice-discovery-protocol-version:00030010\n")), 0);
        var d = Of(c, Console);
        Assert.Equal(("playstation", "PS5", "7.02", (bool?)true), (d.Kind, d.Model, d.Firmware, d.Standby));
        Assert.Equal(["Living Room PS5"], d.Names);
    }

    [Fact]
    public void AnHttpAnswerThatIsNotDdp_MakesNoPlayStation()
    {
        var c = Catalog();
        Feed(c, Frames.Udp(Phone, Gateway, 40123, 8080, Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")), 0);
        Assert.Empty(c.Devices);
    }

    [Fact]
    public void NetBios_RegistrationNamesTheHost_LlmnrAnswerToo_XboxBy5050()
    {
        var c = Catalog();
        var pc = new LanHost("198.18.0.80", "02:00:00:00:00:80");
        var bcast = new LanHost("198.18.0.255", "ff:ff:ff:ff:ff:ff");
        Feed(c, Frames.Udp(pc, bcast, 137, 137, NetBiosRegistration("LIVINGROOM-PC", 0x00)), 0);
        Feed(c, Frames.Udp(pc, bcast, 137, 137, NetBiosRegistration("WORKGROUP", 0x1E)), 0.1); // a group name: not the host's
        Assert.Equal(["LIVINGROOM-PC"], Of(c, pc).Names);
        Assert.Equal(["netbios"], Of(c, pc).LearnedFrom);

        var nas = new LanHost("198.18.0.81", "02:00:00:00:00:81");
        Feed(c, Frames.Udp(nas, pc, 5355, 50000, Mdns(("nas", 1, [198, 18, 0, 81]))), 1);
        Assert.Equal(["nas"], Of(c, nas).Names);
        Assert.Equal(["llmnr"], Of(c, nas).LearnedFrom);

        var xbox = new LanHost("198.18.0.82", "02:00:00:00:00:82");
        Feed(c, Frames.Udp(xbox, pc, 5050, 50000, [0xDD, 0x01, 0, 0]), 2);
        Assert.Equal(("xbox", "xbox"), (Of(c, xbox).Kind, Of(c, xbox).LearnedFrom.Single()));
    }

    private static byte[] NetBiosRegistration(string name, byte suffix)
    {
        var p = new List<byte> { 0x12, 0x34, 0x29, 0x10, 0, 1, 0, 0, 0, 0, 0, 1, 32 }; // opcode 5 (registration), one question
        var raw = Encoding.ASCII.GetBytes(name.PadRight(15)).Append(suffix).ToArray();
        foreach (var b in raw) p.AddRange([(byte)('A' + (b >> 4)), (byte)('A' + (b & 0x0F))]);
        p.AddRange([0, 0, 0x20, 0, 1]);
        return [.. p];
    }

    [Fact]
    public void CaptureFilter_LetsInWhatTheCatalogReads_TaggedOrNot_AndNotTheRest()
    {
        var answer = Frames.Udp(Console, Gateway, 40123, 9303, Encoding.ASCII.GetBytes("HTTP/1.1 200 Ok\nhost-type:PS5\n"));
        var tagged = new byte[answer.Length + 4];
        answer.AsSpan(0, 12).CopyTo(tagged);
        tagged[12] = 0x81;
        tagged[15] = 10;
        answer.AsSpan(12).CopyTo(tagged.AsSpan(16));
        Assert.Equal(true, CaptureFilter.Matches(DeviceCatalog.CaptureFilter, answer));
        Assert.Equal(true, CaptureFilter.Matches(DeviceCatalog.CaptureFilter, tagged));
        Assert.Equal(false, CaptureFilter.Matches(DeviceCatalog.CaptureFilter, Frames.Udp(Console, Gateway, 40123, 443, [1, 2, 3, 4, 5, 6, 7, 8])));
        var c = Catalog();
        Feed(c, tagged, 0);
        Assert.Equal("playstation", Of(c, Console).Kind);
    }

    [Fact]
    public void Nintendo_IsKnownByItsOui()
    {
        var c = Catalog();
        var sw = new LanHost("198.18.0.70", "98:e8:fa:00:00:01");
        Feed(c, Frames.GratuitousArp(sw), 0);
        Assert.Equal(("nintendo", "Nintendo Co.,Ltd"), (Of(c, sw).Kind, Of(c, sw).Vendor));
    }

    [Fact]
    public void AFloodOfMadeUpDevices_IsBounded_AndCounted()
    {
        var c = new DeviceCatalog(maxDevices: 64);
        for (var i = 0; i < 10_000; i++)
        {
            var fake = new LanHost($"198.18.{i / 250}.{1 + i % 250}", $"02:aa:00:00:{i >> 8:x2}:{i & 0xFF:x2}");
            Feed(c, Frames.Udp(fake, All, 68, 67, Frames.Dhcp(op: 1, fake.Mac, type: 1, hostName: new string('x', 500))), i * 0.001);
        }
        Assert.Equal(64, c.Devices.Count);
        Assert.Equal(10_000 - 64, c.NotKept);
        Assert.All(c.Devices, d => Assert.Equal(DeviceCatalog.MaxField, d.Names.Single().Length));
    }

    [Fact]
    public void Garbage_IsIgnored_NeverThrown()
    {
        var c = Catalog();
        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var payload = new byte[random.Next(0, 600)];
            random.NextBytes(payload);
            foreach (var port in new ushort[] { 67, 5353, 1900, 987 })
                Feed(c, Frames.Udp(Phone, Gateway, port, port, payload), i);
        }
        // Whatever was made of the noise is cleaned: no control characters reach a name.
        Assert.All(c.Devices.SelectMany(d => d.Names), n => Assert.DoesNotContain(n, ch => char.IsControl(ch)));
    }

    private static byte[] Name(string name) => [.. name.Split('.').SelectMany(l => new[] { (byte)l.Length }.Concat(Encoding.UTF8.GetBytes(l))), 0];

    private static byte[] Mdns(params (string Owner, ushort Type, byte[] Data)[] answers)
    {
        var p = new List<byte> { 0, 0, 0x84, 0, 0, 0, 0, (byte)answers.Length, 0, 0, 0, 0 };
        foreach (var (owner, type, data) in answers)
        {
            p.AddRange(Name(owner));
            p.AddRange([(byte)(type >> 8), (byte)type, 0x80, 1, 0, 0, 0x11, 0x94, (byte)(data.Length >> 8), (byte)data.Length]);
            p.AddRange(data);
        }
        return [.. p];
    }
}
