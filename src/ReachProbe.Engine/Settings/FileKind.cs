using System.Runtime.InteropServices;

namespace ReachProbe.Settings;

/// <summary>What a path names, as the kernel says (statx(2), whose layout is the same on every architecture).</summary>
public enum FileKind
{
    /// <summary>Nothing there (or it cannot be looked at).</summary>
    Missing,

    /// <summary>A regular file.</summary>
    Regular,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A device, a pipe or a socket: no place for a database or a configuration.</summary>
    Special,
}

/// <summary>Tells a regular file from a device or a pipe before anything opens it (opening a FIFO blocks; SQLite
/// writes a journal beside /dev/zero).</summary>
public static partial class FileKinds
{
    private const int AtFdCwd = -100;
    private const uint StatxType = 1;
    private const int ModeOffset = 28; // struct statx: stx_mask, stx_blksize (u32), stx_attributes (u64), stx_nlink, stx_uid, stx_gid (u32), stx_mode (u16)

    /// <summary>What <paramref name="path"/> is, following symbolic links.</summary>
    public static unsafe FileKind Of(string path)
    {
        var buffer = stackalloc byte[256];
        try
        {
            if (statx(AtFdCwd, path, 0, StatxType, buffer) != 0) return FileKind.Missing;
        }
        catch (EntryPointNotFoundException)
        {
            // A C library without statx (glibc before 2.28): what .NET can tell.
            return System.IO.Directory.Exists(path) ? FileKind.Directory : File.Exists(path) ? FileKind.Regular : FileKind.Missing;
        }
        var mode = *(ushort*)(buffer + ModeOffset) & 0xF000;
        return mode switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            _ => FileKind.Special,
        };
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int statx(int dirfd, string path, int flags, uint mask, byte* buffer);
}
