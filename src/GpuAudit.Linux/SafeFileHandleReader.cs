using Microsoft.Win32.SafeHandles;

namespace GpuAudit.Linux;

/// <summary>Positional reads (pread) from /proc/PID/mem; unreadable ranges read as 0 bytes instead of throwing.</summary>
internal sealed class SafeFileHandleReader(SafeFileHandle handle) : IDisposable
{
    public int Read(Span<byte> into, long address)
    {
        // Addresses at or above 2^63 (only a forged maps line can name one) wrap to negative offsets,
        // which pread cannot take: read as unreadable instead of throwing out of the scan.
        if (address < 0)
        {
            return 0;
        }

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
