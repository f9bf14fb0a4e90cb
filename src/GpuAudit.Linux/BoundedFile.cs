using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using GpuAudit.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace GpuAudit.Linux;

/// <summary>What became of an attempt to read a file that a watched process may control.</summary>
public enum FileReadOutcome
{
    Read,

    /// <summary>Gone (ENOENT, ESRCH): the process exited; nothing worth reporting.</summary>
    Missing,

    /// <summary>EACCES / EPERM: another user's process without CAP_SYS_PTRACE.</summary>
    Denied,

    /// <summary>A FIFO, socket or device where a file was expected: never opened for reading.</summary>
    NotRegular,
}

/// <summary>
/// Reads files the way hostile input must be read (issue 12 item 1): only regular files (the type is
/// checked before the open, and again on the open descriptor, so a FIFO or device swapped in
/// between is refused too), opened with O_NONBLOCK (an open never waits for a writer), and never more
/// than a given number of bytes. Procfs files are regular files of size 0: their length is learnt by
/// reading.
/// </summary>
public static class BoundedFile
{
    private const int FirstBufferBytes = 16 * 1024;

    /// <summary>The text of <paramref name="path"/> (UTF-8, invalid bytes replaced), at most <paramref name="maxBytes"/> bytes of it.</summary>
    public static FileReadOutcome ReadText(string path, int maxBytes, out string? text, out bool truncated)
    {
        text = null;
        truncated = false;
        var outcome = Open(path, out var fd);
        if (outcome != FileReadOutcome.Read)
        {
            return outcome;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes + 1, FirstBufferBytes));
        try
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > maxBytes)
                    {
                        break;
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = Libc.Read(fd, buffer.AsSpan(length), buffer.Length - length);
                if (read < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == Libc.Interrupted)
                    {
                        continue;
                    }

                    if (length == 0)
                    {
                        return Classify(errno);
                    }

                    break;
                }

                if (read == 0)
                {
                    break;
                }

                length += (int)read;
            }

            truncated = length > maxBytes;
            text = Encoding.UTF8.GetString(buffer, 0, Math.Min(length, maxBytes));
            return FileReadOutcome.Read;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _ = Libc.Close(fd);
        }
    }

    /// <summary>A read-only handle to a regular file (for positional reads of /proc/PID/mem), or null with the reason.</summary>
    public static SafeFileHandle? OpenRegular(string path, out FileReadOutcome outcome)
    {
        outcome = Open(path, out var fd);
        return outcome == FileReadOutcome.Read ? new SafeFileHandle(fd, ownsHandle: true) : null;
    }

    /// <summary>The line for a caller's "unreadable" list when <paramref name="outcome"/> is worth reporting, else null.</summary>
    public static string? Problem(string path, FileReadOutcome outcome) => outcome switch
    {
        FileReadOutcome.Denied => ProcFileSystem.Unreadable(path),
        FileReadOutcome.NotRegular => "skipped: " + path + " is not a regular file (a FIFO or device in its place is never opened for reading)",
        _ => null,
    };

    private static FileReadOutcome Open(string path, out int fd)
    {
        fd = -1;
        Span<byte> statx = stackalloc byte[Libc.StatxSize];
        if (Libc.Statx(Libc.AtCurrentDirectory, path, 0, Libc.StatxType | Libc.StatxInode, statx) != 0)
        {
            return Classify(Marshal.GetLastPInvokeError());
        }

        var (mode, inode) = Libc.ModeAndInode(statx);
        if ((mode & Libc.FileTypeMask) != Libc.RegularFile)
        {
            return FileReadOutcome.NotRegular;
        }

        fd = Libc.Open(path, Libc.ReadOnly | Libc.NonBlocking | Libc.CloseOnExec | Libc.NoControllingTerminal);
        if (fd < 0)
        {
            return Classify(Marshal.GetLastPInvokeError());
        }

        // The path may have been swapped for something else between the check and the open.
        if (Libc.Statx(fd, string.Empty, Libc.AtEmptyPath, Libc.StatxType | Libc.StatxInode, statx) != 0
            || Libc.ModeAndInode(statx) is var opened && ((opened.Mode & Libc.FileTypeMask) != Libc.RegularFile || opened.Inode != inode))
        {
            _ = Libc.Close(fd);
            fd = -1;
            return FileReadOutcome.NotRegular;
        }

        return FileReadOutcome.Read;
    }

    private static FileReadOutcome Classify(int errno) =>
        errno is Libc.AccessDenied or Libc.NotPermitted ? FileReadOutcome.Denied : FileReadOutcome.Missing;
}
