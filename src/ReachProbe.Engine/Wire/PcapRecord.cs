using System.Runtime.InteropServices;
using SharpPcap;
using SharpPcap.LibPcap;

namespace ReachProbe.Wire;

/// <summary>
/// Reads libpcap's next record. Where the layout of <c>struct pcap_pkthdr</c> is known — 64-bit Linux: a
/// <c>struct timeval</c> of two 8-byte longs, then 4-byte caplen and len — the header is read in place (no copy, the
/// hot path of <c>analyze</c>). Elsewhere (32-bit Raspberry Pi OS, whose <c>timeval</c> is two 4-byte or, with 64-bit
/// time_t, two 8-byte fields; Windows; macOS) SharpPcap's own accessor, which knows each platform, is used instead.
/// </summary>
internal static class PcapRecord
{
    /// <summary>libpcap as Debian ships it (libpcap0.8), for the few calls SharpPcap does not expose.</summary>
    public const string Library = "libpcap.so.0.8";

    /// <summary>True where the header is read in place.</summary>
    public static bool InPlace { get; } = OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    /// <summary>
    /// The next record: 1 with a frame, 0 on a live read timeout, -1 on an error (<c>LastError</c>), -2 at the end of a
    /// file. <paramref name="data"/> is valid until the next read. Opened with nanosecond precision, the sub-second field
    /// holds nanoseconds.
    /// </summary>
    public static int Next(PcapDevice device, out long ticks, out ReadOnlySpan<byte> data, out int originalLength) =>
        Next(device, InPlace, out ticks, out data, out originalLength);

    /// <summary>The next record, read in place (<paramref name="inPlace"/>: 64-bit Linux only) or through SharpPcap's accessor (tests compare the two).</summary>
    internal static unsafe int Next(PcapDevice device, bool inPlace, out long ticks, out ReadOnlySpan<byte> data, out int originalLength)
    {
        if (inPlace)
        {
            var header = IntPtr.Zero;
            var bytes = IntPtr.Zero;
            var res = device.GetNextPacketPointers(ref header, ref bytes);
            if (res != 1)
            {
                ticks = 0;
                data = default;
                originalLength = 0;
                return res;
            }
            var caplen = Marshal.ReadInt32(header, 16);
            originalLength = Marshal.ReadInt32(header, 20);
            ticks = CaptureFileSource.ToTicks(Marshal.ReadInt64(header, 0), Marshal.ReadInt64(header, 8));
            data = new ReadOnlySpan<byte>((void*)bytes, caplen);
            return 1;
        }
        var status = device.GetNextPacket(out var capture);
        if (status != GetPacketStatus.PacketRead)
        {
            ticks = 0;
            data = default;
            originalLength = 0;
            return status switch
            {
                GetPacketStatus.ReadTimeout => 0,
                GetPacketStatus.NoRemainingPackets => -2,
                _ => -1,
            };
        }
        // SharpPcap's PosixTimeval knows the platform's layout and the handle's resolution.
        ticks = capture.Header.Timeval.Date.ToUniversalTime().Ticks;
        data = capture.Data;
        originalLength = capture.Data.Length;
        return 1;
    }
}
