using GpuAudit.Tests.Inspection;

namespace GpuAudit.Linux.Tests;

/// <summary>
/// Scans of a fake procfs built in a temp directory, where each pid's <c>mem</c> is a plain file
/// whose offsets are the addresses of its <c>maps</c>: shows which regions are read and which are reused.
/// </summary>
public sealed class GpuCodeScannerCacheTests : IDisposable
{
    private const ulong LibraryAddress = 0x10000;
    private const ulong OtherLibraryAddress = 0x40000;
    private const ulong AnonymousAddress = 0x80000;
    private const int RegionBytes = 0x10000;

    private readonly FakeMemoryProcfs procfs = new();

    public void Dispose() => procfs.Dispose();

    [Fact]
    public void File_backed_regions_are_scanned_once_for_every_process_that_maps_them()
    {
        var image = TestImages.Elf(CudaElfImage.MachineCuda, ["sha256d_gpu_hash_shared"], TestImages.Sha256Table());
        AddProcess(10, LibraryAddress, image);
        AddProcess(11, OtherLibraryAddress, image);
        var scanner = new GpuCodeScanner(procfs.Root, time: new FakeTimeProvider());

        var first = scanner.Scan(10)!;
        var second = scanner.Scan(11)!;

        Assert.Equal(2L * RegionBytes, first.BytesScanned);
        Assert.Equal(RegionBytes, second.BytesScanned); // only its anonymous region: the library came from the cache
        Assert.Equal(1, second.RegionsCached);
        Assert.Equal([(long)LibraryAddress + 0x100], first.Images.Select(i => i.Address));
        Assert.Equal([(long)OtherLibraryAddress + 0x100], second.Images.Select(i => i.Address));
        Assert.Equal(["sha256d_gpu_hash_shared"], second.Kernels);
    }

    [Fact]
    public void Anonymous_regions_are_scanned_before_file_backed_ones()
    {
        AddProcess(12, LibraryAddress, TestImages.Elf(CudaElfImage.MachineCuda, ["in_library"], new byte[64]), anonymous: TestImages.Elf(CudaElfImage.MachineCuda, ["injected"], new byte[64]));

        var scan = new GpuCodeScanner(procfs.Root, time: new FakeTimeProvider()).Scan(12)!;

        Assert.Equal(["injected", "in_library"], scan.Kernels);
    }

    // maps: one file-backed region of /opt/lib/libkernels.so (inode 77) and one anonymous region.
    private void AddProcess(int pid, ulong libraryAddress, byte[] libraryImage, byte[]? anonymous = null) =>
        procfs.AddProcess(
            pid,
            $"{libraryAddress:x}-{libraryAddress + RegionBytes:x} r-xp 00000000 08:01 77 /opt/lib/libkernels.so\n"
            + $"{AnonymousAddress:x}-{AnonymousAddress + RegionBytes:x} rw-p 00000000 00:00 0 \n",
            (long)AnonymousAddress + RegionBytes,
            anonymous is null ? [(libraryAddress + 0x100, libraryImage)] : [(libraryAddress + 0x100, libraryImage), (AnonymousAddress + 0x200, anonymous)]);
}
