using System.Buffers.Binary;
using System.Globalization;
using GpuAudit.Core.Inspection;
using GpuAudit.Linux;

namespace GpuAudit.Ebpf;

/// <summary>
/// Reads the image a module load handed the driver, at the address the probe saw, with the GPU
/// code scanner's <see cref="GpuCodeScanner.ScanRange"/> (its own scanner: the shared one belongs
/// to the background scan thread). cudart hands cuModuleLoadFatBinary a fatbin wrapper
/// (__fatBinC_Wrapper_t: magic, version, then the fatbin's address): that one hop is followed.
/// </summary>
public sealed class ModuleImageReader(string procRoot)
{
    private const uint FatbinWrapperMagic = 0x466243b1;

    // One image per load event: a small budget per image, and a ceiling per minute for a process that loads in a loop.
    private readonly GpuCodeScanner _scanner = new(procRoot, new GpuCodeScanOptions { PerScanBudget = TimeSpan.FromMilliseconds(200), PerMinuteBudget = TimeSpan.FromSeconds(3) });
    private readonly string _procRoot = procRoot;

    /// <summary>The GPU code image at <paramref name="address"/>, or null when unreadable, not GPU code, or over budget.</summary>
    public GpuCodeImage? Read(int pid, ulong address)
    {
        if (address is 0 or > long.MaxValue || _scanner.BudgetWait() > TimeSpan.Zero)
        {
            return null;
        }

        address = FollowWrapper(pid, address);
        // A cubin or fatbin at the address is read whole from its header; PTX text runs to its NUL,
        // so the range must cover the longest PTX the scanner reads.
        var scan = _scanner.ScanRange(pid, address, (ulong)PtxText.MaxBodyBytes);
        return scan?.Images.FirstOrDefault(i => (ulong)i.Address == address);
    }

    private ulong FollowWrapper(int pid, ulong address)
    {
        Span<byte> header = stackalloc byte[16];
        try
        {
            using var memory = File.OpenHandle(Path.Combine(_procRoot, pid.ToString(CultureInfo.InvariantCulture), "mem"));
            return RandomAccess.Read(memory, header, (long)address) == header.Length && BinaryPrimitives.ReadUInt32LittleEndian(header) == FatbinWrapperMagic
                ? BinaryPrimitives.ReadUInt64LittleEndian(header[8..])
                : address;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            return address;
        }
    }
}
