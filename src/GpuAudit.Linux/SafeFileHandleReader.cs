using Microsoft.Win32.SafeHandles;

namespace GpuAudit.Linux;

/// <summary>Positional reads (pread) from /proc/PID/mem; unreadable ranges read as 0 bytes instead of throwing.</summary>
internal sealed class SafeFileHandleReader(SafeFileHandle handle) : IDisposable
{
    public int Read(Span<byte> into, long address)
    {
        try
        {
            return RandomAccess.Read(handle, into, address);
        }
        catch (IOException)
        {
            // EIO: the range is not backed by readable pages (guard page, PROT_NONE, unmapped since).
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }

    public void Dispose() => handle.Dispose();
}
