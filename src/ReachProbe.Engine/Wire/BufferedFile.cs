using System.Runtime.InteropServices;

namespace ReachProbe.Wire;

/// <summary>
/// A C <c>FILE*</c> with a 1 MiB stdio buffer, for libpcap to read a capture from. libpcap's own
/// <c>pcap_open_offline</c> reads through the default 4 KiB buffer: one read(2) for every few frames, which was a
/// third of the cost of reading a large capture.
/// </summary>
internal sealed partial class BufferedFile
{
    private const int BufferSize = 1 << 20;
    private IntPtr _buffer;

    private BufferedFile(IntPtr file, IntPtr buffer)
    {
        Handle = new FileStarHandle(file);
        _buffer = buffer;
    }

    /// <summary>The FILE*, owned by libpcap once handed to it (pcap_close closes it).</summary>
    public SafeHandle Handle { get; }

    /// <summary>Opens the file for reading; throws <see cref="CaptureException"/> when the C library cannot.</summary>
    public static unsafe BufferedFile Open(string path)
    {
        var file = fopen(path, "rb");
        if (file == IntPtr.Zero) throw new CaptureException($"{path}: cannot open: {Marshal.GetLastPInvokeErrorMessage()}");
        var buffer = (IntPtr)NativeMemory.Alloc(BufferSize);
        if (setvbuf(file, buffer, 0 /* _IOFBF */, BufferSize) != 0)
        {
            // Keep the default buffer; reading still works, only slower.
            NativeMemory.Free((void*)buffer);
            buffer = IntPtr.Zero;
        }
        return new BufferedFile(file, buffer);
    }

    /// <summary>Frees the buffer; closes the FILE* too unless libpcap already did.</summary>
    public unsafe void Release(bool closedByLibpcap)
    {
        if (!closedByLibpcap && !Handle.IsInvalid) fclose(Handle.DangerousGetHandle());
        if (_buffer == IntPtr.Zero) return;
        NativeMemory.Free((void*)_buffer);
        _buffer = IntPtr.Zero;
    }

    [LibraryImport("libc", EntryPoint = "fopen", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial IntPtr fopen(string path, string mode);

    [LibraryImport("libc", EntryPoint = "setvbuf")]
    private static partial int setvbuf(IntPtr file, IntPtr buffer, int mode, nuint size);

    [LibraryImport("libc", EntryPoint = "fclose")]
    private static partial int fclose(IntPtr file);

    /// <summary>Wraps the FILE* for SharpPcap without owning it: libpcap closes it.</summary>
    private sealed class FileStarHandle : SafeHandle
    {
        public FileStarHandle(IntPtr file) : base(IntPtr.Zero, ownsHandle: false) => SetHandle(file);

        public override bool IsInvalid => handle == IntPtr.Zero;

        protected override bool ReleaseHandle() => true;
    }
}
