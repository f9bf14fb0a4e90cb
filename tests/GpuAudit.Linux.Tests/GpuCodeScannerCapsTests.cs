using System.Buffers.Binary;
using System.Globalization;
using GpuAudit.Tests.Inspection;

namespace GpuAudit.Linux.Tests;

/// <summary>
/// What a process can put in its memory to blind or exhaust the scanner (issue 12): copies,
/// floods of distinct images, headers that claim huge extents or cover the real image. Each pid's
/// memory is a sparse file in a fake procfs (offsets = addresses), one anonymous region.
/// </summary>
public sealed class GpuCodeScannerCapsTests : IDisposable
{
    private const ulong RegionStart = 0x100000;
    private readonly FakeMemoryProcfs procfs = new();

    public void Dispose() => procfs.Dispose();

    [Fact]
    public void Identical_images_are_one_image_with_their_copies_counted()
    {
        var cubin = TestImages.Elf(CudaElfImage.MachineCuda, ["scale_rows"], TestImages.Sha256Table());
        AddProcess(20, 4 << 20, Enumerable.Range(0, 2000).Select(i => ((ulong)i * 1024, cubin)));

        var scan = new GpuCodeScanner(procfs.Root, time: new FakeTimeProvider()).Scan(20)!;

        var image = Assert.Single(scan.Images);
        Assert.Equal(2000, image.Copies);
        Assert.Single(scan.Findings(), f => f.Kind == FindingKind.HashConstantInGpuCode && f.Detail.EndsWith("[2000 copies]", StringComparison.Ordinal));
    }

    [Fact]
    public void Distinct_images_past_the_region_cap_are_counted_not_kept_and_evidence_gets_its_own_room()
    {
        var plain = Enumerable.Range(0, 100).Select(i => TestImages.Elf(CudaElfImage.MachineCuda, ["gemm_" + i.ToString(CultureInfo.InvariantCulture)], new byte[64]));
        var hashing = Enumerable.Range(0, 30).Select(i => TestImages.Elf(CudaElfImage.MachineCuda, ["scale_" + i.ToString(CultureInfo.InvariantCulture)], TestImages.Sha256Table()));
        AddProcess(21, 1 << 20, plain.Concat(hashing).Select((image, i) => ((ulong)i * 1024, image)));
        var scanner = new GpuCodeScanner(procfs.Root, new GpuCodeScanOptions { MaxImagesPerRegion = 10 }, new FakeTimeProvider());

        var scan = scanner.Scan(21)!;

        Assert.Equal(10, scan.Images.Count(i => i.HashHits.Count == 0));
        Assert.Equal(10, scan.Images.Count(i => i.HashHits.Count > 0)); // evidence has a cap of its own: plain floods cannot crowd it out
        Assert.Equal(110, scan.ImagesNotKept);
        Assert.Equal(20, scanner.KeptImages);

        scanner.Forget(21);
        Assert.Equal(0, scanner.KeptImages);
    }

    [Fact]
    public void Header_claiming_255_mib_is_read_to_the_image_cap_and_hides_nothing_behind_it()
    {
        var claiming = TestImages.Elf(CudaElfImage.MachineCuda, ["decoy"], new byte[64]);
        BinaryPrimitives.WriteUInt64LittleEndian(claiming.AsSpan(40), (255UL << 20) - 256); // e_shoff
        var real = TestImages.Elf(CudaElfImage.MachineCuda, ["scale_rows"], TestImages.Sha256Table());
        AddProcess(22, 8 << 20, [(0, claiming), (3 << 20, real)]);
        var options = new GpuCodeScanOptions { MaxImageBytes = 1 << 20 };

        var scan = new GpuCodeScanner(procfs.Root, options, new FakeTimeProvider()).Scan(22)!;

        Assert.All(scan.Images, i => Assert.InRange(i.Length, 0, options.MaxImageBytes));
        Assert.Contains(scan.Images, i => i.Kernels.SequenceEqual(["scale_rows"]) && i.HashHits.Count == 1);
    }

    [Fact]
    public void Crafted_header_whose_extent_covers_the_real_image_does_not_hide_its_constants()
    {
        // A section table 512 KiB in makes the decoy's extent cover the real cubin and a compressed fatbin.
        var decoy = TestImages.Elf(CudaElfImage.MachineCuda, ["decoy"], new byte[64]);
        BinaryPrimitives.WriteUInt64LittleEndian(decoy.AsSpan(40), 512 << 10);
        BinaryPrimitives.WriteUInt16LittleEndian(decoy.AsSpan(60), 1);
        var real = TestImages.Elf(CudaElfImage.MachineCuda, ["scale_rows"], TestImages.Sha256Table());
        var keccak = new byte[24 * 8];
        for (var i = 0; i < 24; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(keccak.AsSpan(i * 8), HashConstants.KeccakRoundConstants[i]);
        }

        var compressed = TestImages.Fatbin((2, TestImages.Elf(CudaElfImage.MachineCuda, ["mask_rows"], keccak), true));
        AddProcess(23, 2 << 20, [(0, decoy), (4096, real), (64 << 10, compressed)]);

        var scan = new GpuCodeScanner(procfs.Root, time: new FakeTimeProvider()).Scan(23)!;

        var algorithms = scan.Images.SelectMany(i => i.HashHits).Select(h => h.Algorithm).ToHashSet();
        Assert.Contains(HashConstants.Sha256, algorithms); // found in the decoy's extent, searched whole
        Assert.Contains(scan.Images, i => i.Kind == GpuCodeKind.Fatbin && i.Kernels.SequenceEqual(["mask_rows"]) && i.HashHits.Single().Algorithm == HashConstants.Keccak);
    }

    [Fact]
    public void Working_set_that_cannot_hold_a_chunk_an_image_and_a_decoded_entry_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new GpuCodeScanner(procfs.Root, new GpuCodeScanOptions { WorkingSetBytes = 16 << 20, MaxImageBytes = 16 << 20 }));
    }

    // One anonymous region of regionBytes at RegionStart holding the given images at the given offsets.
    private void AddProcess(int pid, long regionBytes, IEnumerable<(ulong Offset, byte[] Image)> images) =>
        procfs.AddProcess(
            pid,
            $"{RegionStart:x}-{RegionStart + (ulong)regionBytes:x} rw-p 00000000 00:00 0 \n",
            (long)RegionStart + regionBytes,
            images.Select(i => (RegionStart + i.Offset, i.Image)));
}
