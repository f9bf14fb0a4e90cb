using GpuAudit.Tests.Inspection;

namespace GpuAudit.Linux.Tests;

/// <summary>
/// Scans this very test process through /proc/self/mem: a live process whose anonymous memory
/// (pinned arrays on the managed heap) holds the images the tests place there.
/// Runs alone: images other tests leave on the heap would otherwise show up in its scans.
/// </summary>
[Collection(LiveMemoryTests.Name)]
public sealed class GpuCodeScannerLiveTests
{
    private const string Kernel = "sha256d_gpu_hash_shared";

    private static readonly GpuCodeScanOptions Generous = new()
    {
        PerScanBudget = TimeSpan.FromMinutes(5),
        PerMinuteBudget = TimeSpan.FromMinutes(5),
    };

    [Fact]
    public void Cuda_image_with_sha256_constants_in_anonymous_memory_is_found_and_a_cpu_elf_with_them_is_not()
    {
        var cuda = Pin(TestImages.Elf(CudaElfImage.MachineCuda, [Kernel], TestImages.Sha256Table()));
        var cpu = Pin(TestImages.Elf(TestImages.MachineX86_64, ["cpu_sha256_transform"], TestImages.Sha256Table()));

        var scan = new GpuCodeScanner(options: Generous, time: new FakeTimeProvider()).Scan(Environment.ProcessId)!;

        var image = Assert.Single(scan.Images, i => Same(i, cuda));
        Assert.Equal(GpuCodeKind.Cubin, image.Kind);
        Assert.Equal([Kernel], image.Kernels);
        Assert.Equal([HashConstants.Sha256], image.HashHits.Select(h => h.Algorithm));
        Assert.DoesNotContain(scan.Images, i => i.Length == cpu.Length && i.Kernels.Contains("cpu_sha256_transform"));

        // No SHA-256 finding comes from the CPU image (or a copy of it left on the heap). Other GPU
        // images that earlier tests in this process built may still be on the heap, so the check
        // is on the CPU image's identity, not on every image's kernel name.
        Assert.DoesNotContain(scan.Images, i => i.Kernels.Contains("cpu_sha256_transform"));
        Assert.Contains(scan.Findings(), f => f.Kind == FindingKind.HashConstantInGpuCode && f.Detail.Contains(Kernel, StringComparison.Ordinal));
        Assert.Contains(scan.Findings(), f => f.Kind == FindingKind.MinerKernel && f.Detail.Contains(Kernel, StringComparison.Ordinal));
        GC.KeepAlive(cuda);
        GC.KeepAlive(cpu);
    }

    [Fact]
    public void Fatbin_and_ptx_in_anonymous_memory_are_found_with_compressed_entries_counted()
    {
        var ptx = TestImages.Ptx("ethash_search", [HashConstants.FnvPrime]);
        var fatbin = Pin(TestImages.Fatbin((1, ptx, false), (2, new byte[256], true)));

        var scan = new GpuCodeScanner(options: Generous, time: new FakeTimeProvider()).Scan(Environment.ProcessId)!;

        var image = Assert.Single(scan.Images, i => i.Kind == GpuCodeKind.Fatbin && i.Length == fatbin.Length && i.Kernels.SequenceEqual(["ethash_search"]));
        Assert.Equal(["ethash_search"], image.Kernels);
        Assert.Equal(1, image.CompressedEntries);
        Assert.Equal([HashConstants.Fnv], image.HashHits.Select(h => h.Algorithm));
        GC.KeepAlive(fatbin);
    }

    [Fact]
    public void Regions_already_scanned_are_reused_until_the_anonymous_rescan_interval()
    {
        var cuda = Pin(TestImages.Elf(CudaElfImage.MachineCuda, [Kernel], TestImages.Sha256Table()));
        var time = new FakeTimeProvider();
        var scanner = new GpuCodeScanner(options: Generous with { AnonymousRescanInterval = TimeSpan.FromMinutes(10) }, time: time);

        var first = scanner.Scan(Environment.ProcessId)!;
        var second = scanner.Scan(Environment.ProcessId)!;
        time.Advance(TimeSpan.FromMinutes(11));
        var third = scanner.Scan(Environment.ProcessId)!;

        Assert.True(second.RegionsCached > 0);
        Assert.True(second.BytesScanned < first.BytesScanned / 2, $"second scan read {second.BytesScanned} of {first.BytesScanned} bytes");
        Assert.Contains(second.Images, i => Same(i, cuda));
        Assert.True(third.BytesScanned > second.BytesScanned, "anonymous regions are read again after the rescan interval");
        GC.KeepAlive(cuda);
    }

    [Fact]
    public void Exhausted_budget_truncates_the_scan_and_the_next_scan_resumes()
    {
        var cuda = Pin(TestImages.Elf(CudaElfImage.MachineCuda, [Kernel], TestImages.Sha256Table()));
        var time = new FakeTimeProvider();
        var scanner = new GpuCodeScanner(options: Generous with { PerScanBudget = TimeSpan.Zero }, time: time);

        var starved = scanner.Scan(Environment.ProcessId)!;

        Assert.True(starved.Truncated);
        Assert.Equal(0, starved.BytesScanned);
        Assert.Empty(starved.Images);

        var resumed = new GpuCodeScanner(options: Generous, time: time).Scan(Environment.ProcessId)!;
        Assert.False(resumed.Truncated);
        Assert.Contains(resumed.Images, i => Same(i, cuda));
        GC.KeepAlive(cuda);
    }

    [Fact]
    public void Per_minute_budget_makes_the_service_wait_for_the_next_minute()
    {
        var time = new FakeTimeProvider();
        var scanner = new GpuCodeScanner(options: Generous with { PerMinuteBudget = TimeSpan.Zero }, time: time);

        Assert.Equal(TimeSpan.FromMinutes(1), scanner.BudgetWait());
        Assert.True(scanner.Scan(Environment.ProcessId)!.Truncated);
    }

    [Fact]
    public async Task Service_scans_requested_pids_off_the_calling_thread()
    {
        var cuda = Pin(TestImages.Elf(CudaElfImage.MachineCuda, [Kernel], TestImages.Sha256Table()));
        var service = new GpuCodeScanService(new GpuCodeScanner(options: Generous, time: new FakeTimeProvider()));
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() => service.RunAsync(stop.Token));

        service.Request(Environment.ProcessId);
        await Poll.UntilAsync(() => service.Latest(Environment.ProcessId) is not null || loop.IsCompleted, "scan of this process");

        Assert.Contains(service.Latest(Environment.ProcessId)!.Images, i => Same(i, cuda));
        await stop.CancelAsync();
        await loop;
        GC.KeepAlive(cuda);
    }

    [Fact]
    public void Scan_range_finds_the_image_in_exactly_that_range_and_nothing_outside_it()
    {
        var inside = Pin(TestImages.Elf(CudaElfImage.MachineCuda, ["scale_rows"], TestImages.Sha256Table()));
        var outside = Pin(TestImages.Elf(CudaElfImage.MachineCuda, ["outside_range"], TestImages.Sha256Table()));
        var address = (ulong)System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(inside, 0).ToInt64();

        var scan = new GpuCodeScanner(options: Generous, time: new FakeTimeProvider()).ScanRange(Environment.ProcessId, address, (ulong)inside.Length)!;

        var image = Assert.Single(scan.Images);
        Assert.Equal((long)address, image.Address);
        Assert.Equal(["scale_rows"], image.Kernels);
        Assert.Equal([HashConstants.Sha256], image.HashHits.Select(h => h.Algorithm));
        Assert.Equal(inside.Length, scan.BytesScanned);
        Assert.False(scan.Truncated);
        GC.KeepAlive(outside);
    }

    [Fact]
    public void Scan_range_reads_an_image_that_starts_in_the_range_whole_and_gives_nothing_for_a_gone_process()
    {
        var cubin = Pin(TestImages.Elf(CudaElfImage.MachineCuda, ["scale_rows"], TestImages.Sha256Table()));
        var address = (ulong)System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(cubin, 0).ToInt64();
        var scanner = new GpuCodeScanner(options: Generous, time: new FakeTimeProvider());

        var header = scanner.ScanRange(Environment.ProcessId, address, GpuCodeSearch.CandidateHeaderBytes)!;

        Assert.Equal(cubin.Length, Assert.Single(header.Images).Length);
        Assert.Null(new GpuCodeScanner(Fixtures.ProcRoot).ScanRange(99999, address, 4096));
    }

    [Fact]
    public void Gone_process_gives_no_result()
    {
        Assert.Null(new GpuCodeScanner(Fixtures.ProcRoot).Scan(99999));
    }

    private static byte[] Pin(byte[] image)
    {
        var pinned = GC.AllocateArray<byte>(image.Length, pinned: true);
        image.CopyTo(pinned, 0);
        return pinned;
    }

    // Identical images are reported once, at the address of the first copy met (other tests of
    // this process may have left copies of the same bytes on the heap): match by what it is.
    private static bool Same(GpuCodeImage image, byte[] cubin) =>
        image.Kind == GpuCodeKind.Cubin && image.Length == cubin.Length && image.Kernels.SequenceEqual([Kernel]);
}
