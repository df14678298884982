using System.Text;
using ReachProbe.Probes;

namespace ReachProbe.Tests.Probes;

public class DdpTests
{
    private const string Awake = "HTTP/1.1 200 Ok\nhost-id:A1B2C3D4E5F6\nhost-type:PS4\nhost-name:PS4-LIVINGROOM\nhost-request-port:997\n"
        + "device-discovery-protocol-version:00020020\nsystem-version:07020001\nrunning-app-titleid:CUSA00001\nrunning-app-name:Some Game\n";

    [Fact]
    public void TryParse_AwakePs4_ReadsEveryField()
    {
        Assert.True(Ddp.TryParse(Encoding.UTF8.GetBytes(Awake), out var info, out var problem));
        Assert.Null(problem);
        Assert.Equal(200, info!.StatusCode);
        Assert.Equal(ConsoleStatus.Awake, info.Status);
        Assert.Equal("A1B2C3D4E5F6", info.HostId);
        Assert.Equal("PS4", info.HostType);
        Assert.Equal("PS4-LIVINGROOM", info.HostName);
        Assert.Equal("997", info.HostRequestPort);
        Assert.Equal("07020001", info.SystemVersion);
        Assert.Equal("7.02", info.Firmware);
        Assert.Equal("CUSA00001", info.RunningAppTitleId);
        Assert.Equal("Some Game", info.RunningAppName);
    }

    [Fact]
    public void TryParse_Standby_IsByNumberNotText()
    {
        Assert.True(Ddp.TryParse("HTTP/1.1 620 Whatever Text\r\nhost-type:PS5\r\n"u8, out var info, out _));
        Assert.Equal(ConsoleStatus.Standby, info!.Status);
        Assert.Equal("PS5", info.HostType);
        Assert.Null(info.HostName);
        Assert.Null(info.Firmware);
    }

    [Fact]
    public void TryParse_MissingFields_AreNull()
    {
        Assert.True(Ddp.TryParse("HTTP/1.1 200 Ok\n"u8, out var info, out _));
        Assert.Equal(ConsoleStatus.Awake, info!.Status);
        Assert.Null(info.SystemVersion);
        Assert.Null(info.RunningAppName);
    }

    [Theory]
    [InlineData("")]
    [InlineData("SRCH * HTTP/1.1\n")]
    [InlineData("HTTP/1.1 OK\n")]
    [InlineData("HTTP/1.1 2000 Ok\n")]
    [InlineData("hello")]
    public void TryParse_Garbage_IsRejectedWithAReason(string text)
    {
        Assert.False(Ddp.TryParse(Encoding.UTF8.GetBytes(text), out var info, out var problem));
        Assert.Null(info);
        Assert.StartsWith("no status line", problem);
    }

    [Fact]
    public void TryParse_NotUtf8_IsRejected()
    {
        Assert.False(Ddp.TryParse(new byte[] { 0xFF, 0xFE, 0x00 }, out _, out var problem));
        Assert.Equal("not UTF-8 text", problem);
    }

    [Theory]
    [InlineData("07020001", "7.02")]
    [InlineData("10010001", "10.01")]
    [InlineData("0702", null)]
    [InlineData("0x070200", null)]
    [InlineData(null, null)]
    public void DecodeFirmware_TwoDigitsMajorTwoMinor(string? raw, string? expected) => Assert.Equal(expected, Ddp.DecodeFirmware(raw));

    [Fact]
    public void Searches_CarryTheProtocolVersions()
    {
        Assert.Equal("SRCH * HTTP/1.1\ndevice-discovery-protocol-version:00020020\n", Encoding.ASCII.GetString(Ddp.Ps4Search));
        Assert.Equal("SRCH * HTTP/1.1\ndevice-discovery-protocol-version:00030010\n", Encoding.ASCII.GetString(Ddp.Ps5Search));
    }

    [Fact]
    public void TryParse_HugeFields_AreCappedForLabels()
    {
        var answer = "HTTP/1.1 200 Ok\nhost-type:" + new string('P', 60_000) + "\nsystem-version:07020001\n";
        Assert.True(Ddp.TryParse(Encoding.UTF8.GetBytes(answer), out var info, out _));
        Assert.Equal(Ddp.MaxField, info!.HostType!.Length);
        Assert.Equal("7.02", info.Firmware);
    }
}
