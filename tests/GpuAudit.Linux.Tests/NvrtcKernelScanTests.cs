using System.Diagnostics;
using GpuAudit.Linux.Tests.Nvrtc;

namespace GpuAudit.Linux.Tests;

/// <summary>
/// The scanner on real compiler output: kernels compiled at test time by NVIDIA's NVRTC inside
/// this very process (PTX and sm_90 cubins in its heap, as a run-time-compiling miner holds them)
/// and packed by NVIDIA's <c>fatbinary</c> into compressed fatbins. Hash kernels carry innocent
/// names, so what finds them is what the code is, never what it is called.
/// </summary>
[Collection(LiveMemoryTests.Name)]
[Trait("Category", "Integration")]
public sealed class NvrtcKernelScanTests
{
    private static readonly GpuCodeScanOptions Generous = new()
    {
        PerScanBudget = TimeSpan.FromMinutes(5),
        PerMinuteBudget = TimeSpan.FromMinutes(5),
    };

    // Source file, the innocent kernel name it defines, the hash it computes.
    public static TheoryData<string, string, string> HashKernels => new()
    {
        { "sha256_table", "normalize_rows", HashConstants.Sha256 },
        { "sha256_immediates", "bias_gelu", HashConstants.Sha256 },
        { "keccak", "attention_mask", HashConstants.Keccak },
        { "blake2b", "embedding_lookup", HashConstants.Blake2b },
        { "ethash_fnv", "gather_features", HashConstants.Fnv },
    };

    public static TheoryData<string, string> MlKernels => new()
    {
        { "gemm", "sgemm_tiled" },
        { "softmax", "softmax_rows" },
        { "layernorm", "layernorm_forward" },
        { "elementwise_add", "elementwise_add" },
    };

    [NvrtcFact]
    public void Nvrtc_compiled_hash_kernels_in_this_process_are_found_and_ml_kernels_are_not()
    {
        var compiled = HashKernels.Select(k => (string)k[0]).Concat(MlKernels.Select(k => (string)k[0])).Select(NvrtcCompiler.Compile).ToList();

        // Two copies of every image, as a miner that keeps NVRTC's output and hands a copy to the
        // driver. Pinned, so that a garbage collection during the scan cannot move one past it.
        var held = compiled.SelectMany(k => (byte[][])[Pin(k.Ptx), Pin(k.Ptx), Pin(k.Cubin), Pin(k.Cubin)]).ToList();

        var scan = new GpuCodeScanner(options: Generous, time: new FakeTimeProvider()).Scan(Environment.ProcessId)!;

        // Besides the copies held here, NVRTC's freed buffers and other tests' leftovers may hold
        // variants of a text (cut short, run on into other bytes): each distinct image is reported once.
        foreach (var (source, kernel, algorithm) in HashKernels.Select(k => ((string)k[0], (string)k[1], (string)k[2])))
        {
            var output = compiled.Single(c => c.Name == source);
            foreach (var (kind, length) in (ReadOnlySpan<(GpuCodeKind, int)>)[(GpuCodeKind.Cubin, output.Cubin.Length), (GpuCodeKind.Ptx, PtxTextLength(output.Ptx))])
            {
                var image = Assert.Single(scan.Images, i => i.Kind == kind && i.Length == length && i.Kernels.Contains(kernel));
                Assert.True(image.Copies >= 2, $"{kernel} {kind}: {image.Copies} copies");
                Assert.Contains(algorithm, image.HashHits.Select(h => h.Algorithm));
            }

            // One finding per distinct image, never one per copy.
            var hashing = scan.Images.Where(i => i.Kernels.Contains(kernel) && i.HashHits.Count > 0).ToList();
            Assert.Equal(hashing.Count, scan.Findings().Count(f => f.Kind == FindingKind.HashConstantInGpuCode && f.Detail.Contains("kernels: " + kernel, StringComparison.Ordinal)));
        }

        foreach (var (source, kernel) in MlKernels.Select(k => ((string)k[0], (string)k[1])))
        {
            var images = scan.Images.Where(i => i.Kernels.Contains(kernel)).ToList();
            Assert.Contains(images, i => i.Kind == GpuCodeKind.Cubin && i.Length == compiled.Single(c => c.Name == source).Cubin.Length);
            Assert.Contains(images, i => i.Kind == GpuCodeKind.Ptx);
            Assert.All(images, i => Assert.Empty(i.HashHits));
            Assert.DoesNotContain(scan.Findings(), f => f.Detail.Contains(kernel, StringComparison.Ordinal));
        }

        GC.KeepAlive(held);
    }

    [NvrtcFact("fatbinary")]
    public void Compressed_fatbin_from_nvidias_fatbinary_is_decoded_to_the_exact_cubin_and_its_hash_kernel_found()
    {
        var sha = NvrtcCompiler.Compile("sha256_table");
        var fatbin = CompressedFatbin(sha);

        var entries = FatbinContainer.Parse(fatbin);
        Assert.Equal([FatbinEntryKind.Elf, FatbinEntryKind.Ptx], entries.Select(e => e.Kind));
        Assert.All(entries, e => Assert.True(e.Compressed));
        Assert.All(entries, e => Assert.Equal(90u, e.Architecture));
        var elf = entries[0];
        var decoded = new byte[elf.UncompressedLength];
        Assert.Equal(sha.Cubin.Length, FatbinContainer.Decompress(elf, fatbin.AsSpan(elf.PayloadOffset, elf.PayloadLength), decoded));
        Assert.Equal(sha.Cubin, decoded);

        var held = Pin(fatbin);
        var scan = new GpuCodeScanner(options: Generous, time: new FakeTimeProvider()).Scan(Environment.ProcessId)!;

        var image = Assert.Single(scan.Images, i => i.Kind == GpuCodeKind.Fatbin && i.Length == fatbin.Length && i.Kernels.Contains("normalize_rows"));
        Assert.Equal((2, 0), (image.CompressedEntries, image.UndecodedEntries));
        Assert.Equal([HashConstants.Sha256], image.HashHits.Select(h => h.Algorithm));
        Assert.Contains(scan.Findings(), f => f.Detail.Contains("in fatbin at 0x", StringComparison.Ordinal) && f.Detail.Contains("normalize_rows", StringComparison.Ordinal));
        GC.KeepAlive(held);
    }

    [NvrtcFact("fatbinary")]
    public void Compressed_fatbin_of_an_ml_kernel_is_decoded_and_holds_no_hash()
    {
        var fatbin = CompressedFatbin(NvrtcCompiler.Compile("layernorm"));

        var image = GpuCodeSearch.Analyze(GpuCodeKind.Fatbin, fatbin, 0);

        Assert.Equal((2, 0), (image!.CompressedEntries, image.UndecodedEntries));
        Assert.Contains("layernorm_forward", image.Kernels);
        Assert.Empty(image.HashHits);
    }

    // NVRTC's PTX is comments, then the module from .version up to its NUL.
    private static int PtxTextLength(byte[] ptx)
    {
        var version = ptx.AsSpan().IndexOf(".version"u8);
        return Array.IndexOf(ptx, (byte)0, version) - version;
    }

    private static byte[] Pin(byte[] image)
    {
        var pinned = GC.AllocateArray<byte>(image.Length, pinned: true);
        image.CopyTo(pinned, 0);
        return pinned;
    }

    /// <summary>Packs NVRTC's cubin and PTX the way nvcc does (it runs fatbinary), every entry compressed.</summary>
    internal static byte[] CompressedFatbin(CompiledKernel kernel)
    {
        var directory = Directory.CreateTempSubdirectory("gpuaudit-fatbin-");
        try
        {
            var cubin = Path.Combine(directory.FullName, kernel.Name + ".cubin");
            var ptx = Path.Combine(directory.FullName, kernel.Name + ".ptx");
            var output = Path.Combine(directory.FullName, kernel.Name + ".fatbin");
            File.WriteAllBytes(cubin, kernel.Cubin);
            File.WriteAllBytes(ptx, kernel.Ptx.AsSpan(0, Array.IndexOf(kernel.Ptx, (byte)0) is var nul and >= 0 ? nul : kernel.Ptx.Length).ToArray());
            var start = new ProcessStartInfo(ToolRequirement.Find("fatbinary") ?? "fatbinary") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var argument in (string[])["-64", "--compress-all", "--create=" + output, "--image3=kind=elf,sm=90,file=" + cubin, "--image3=kind=ptx,sm=90,file=" + ptx])
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start)!;
            var errors = process.StandardError.ReadToEnd();
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), "fatbinary did not exit within a minute");
            Assert.True(process.ExitCode == 0, "fatbinary failed: " + errors);
            return File.ReadAllBytes(output);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
