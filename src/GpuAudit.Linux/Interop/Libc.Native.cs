using System.Runtime.InteropServices;

namespace GpuAudit.Linux.Interop;

/// <summary>
/// The few libc calls .NET does not expose: opening a file with O_NONBLOCK (so a FIFO put in place
/// of a procfs file cannot hang the open or the read) and asking the kernel what type a file is
/// (statx's layout is the same on every architecture, unlike struct stat). Flag values are the
/// generic Linux ones, shared by x86_64 and arm64.
/// </summary>
internal static partial class Libc
{
    public const int ReadOnly = 0;
    public const int NoControllingTerminal = 0x100;
    public const int NonBlocking = 0x800;
    public const int CloseOnExec = 0x80000;

    public const int AtCurrentDirectory = -100;
    public const int AtEmptyPath = 0x1000;
    public const uint StatxType = 0x1;
    public const uint StatxInode = 0x100;

    public const int FileTypeMask = 0xF000;
    public const int RegularFile = 0x8000;

    public const int NoSuchFile = 2;      // ENOENT
    public const int NoSuchProcess = 3;   // ESRCH
    public const int Interrupted = 4;     // EINTR
    public const int AccessDenied = 13;   // EACCES
    public const int NotPermitted = 1;    // EPERM

    /// <summary>Size of struct statx (the kernel fills at most this much).</summary>
    public const int StatxSize = 256;

    // glibc's soname: "libc" alone may resolve to the libc.so linker script where libc6-dev is installed.
    private const string Library = "libc.so.6";

    [LibraryImport(Library, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Open(string path, int flags);

    [LibraryImport(Library, EntryPoint = "close")]
    public static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, Span<byte> buffer, nint count);

    [LibraryImport(Library, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Statx(int directoryFd, string path, int flags, uint mask, Span<byte> statx);

    /// <summary>stx_mode (offset 28) and stx_ino (offset 32) of a filled struct statx, in the machine's byte order.</summary>
    public static (int Mode, ulong Inode) ModeAndInode(ReadOnlySpan<byte> statx) =>
        (MemoryMarshal.Read<ushort>(statx[28..]), MemoryMarshal.Read<ulong>(statx[32..]));
}
