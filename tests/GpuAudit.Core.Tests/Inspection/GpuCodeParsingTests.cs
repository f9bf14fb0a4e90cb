using System.Buffers.Binary;
using System.Text;
using GpuAudit.Tests.Inspection;

namespace GpuAudit.Core.Tests.Inspection;

public class GpuCodeParsingTests
{
    [Fact]
    public void Cuda_elf_symbol_table_names_its_kernels_and_its_extent()
    {
        var image = TestImages.Elf(CudaElfImage.MachineCuda, ["sha256d_gpu_hash_shared", "helper"], TestImages.Sha256Table());

        var parsed = CudaElfImage.TryParse(image);

        Assert.NotNull(parsed);
        Assert.True(parsed.IsCuda);
        Assert.Equal(["sha256d_gpu_hash_shared", "helper"], parsed.Kernels);
        Assert.Equal(image.Length, parsed.Length);
    }

    [Fact]
    public void Cpu_elf_is_parsed_without_kernels()
    {
        var parsed = CudaElfImage.TryParse(TestImages.Elf(TestImages.MachineX86_64, ["main"], TestImages.Sha256Table()));

        Assert.NotNull(parsed);
        Assert.False(parsed.IsCuda);
        Assert.Empty(parsed.Kernels);
    }

    [Fact]
    public void Hash_constants_in_a_cubin_are_found_and_a_plain_cubin_has_none()
    {
        var hashing = GpuCodeSearch.Analyze(GpuCodeKind.Cubin, TestImages.Elf(CudaElfImage.MachineCuda, ["k"], TestImages.Sha256Table()), 0);
        var plain = GpuCodeSearch.Analyze(GpuCodeKind.Cubin, TestImages.Elf(CudaElfImage.MachineCuda, ["gemm"], new byte[256]), 0);

        Assert.Equal([HashConstants.Sha256], hashing!.HashHits.Select(h => h.Algorithm));
        Assert.Empty(plain!.HashHits);
    }

    [Fact]
    public void Sha256_constants_scattered_as_instruction_immediates_are_found()
    {
        // SASS on sm_70+ is 16 bytes per instruction with the 32-bit immediate at byte 4.
        var sass = new byte[16 * 64];
        for (var i = 0; i < 64; i++)
        {
            BitConverter.TryWriteBytes(sass.AsSpan((i * 16) + 4), HashConstants.Sha256K[i]);
        }

        var hits = HashConstants.FindInBinary(sass);

        Assert.Contains(hits, h => h.Algorithm == HashConstants.Sha256 && h.Evidence.StartsWith("64 ", StringComparison.Ordinal));
    }

    [Fact]
    public void Ptx_entries_and_decimal_constants_are_found()
    {
        var ptx = TestImages.Ptx("ethash_search", [HashConstants.FnvPrime, .. HashConstants.Sha256K.Take(6)]);

        var image = GpuCodeSearch.Analyze(GpuCodeKind.Ptx, ptx.AsSpan(ptx.AsSpan().IndexOf(".entry"u8)), 0);

        Assert.Equal(["ethash_search"], image!.Kernels);
        Assert.Equal([HashConstants.Sha256, HashConstants.Fnv], image.HashHits.Select(h => h.Algorithm));
    }

    [Fact]
    public void Ptx_register_numbers_and_small_literals_are_no_constants()
    {
        var ptx = Encoding.ASCII.GetBytes(".entry k()\n{\n\tadd.s32 %r1116352408, %r2, 1;\n\tmov.u32 %r3, 0x0000808a;\n}\0");

        Assert.Empty(HashConstants.FindInPtx(ptx));
    }

    [Fact]
    public void Fatbin_entries_are_parsed_and_compressed_ones_decoded()
    {
        var cubin = TestImages.Elf(CudaElfImage.MachineCuda, ["keccak256_gpu_hash_80"], new byte[64]);
        var ptx = TestImages.Ptx("blake2b_search", []);
        var hidden = TestImages.Elf(CudaElfImage.MachineCuda, ["scale_rows"], TestImages.Sha256Table());
        var fatbin = TestImages.Fatbin((2, cubin, false), (1, ptx, false), (2, hidden, true));

        var image = GpuCodeSearch.Analyze(GpuCodeKind.Fatbin, fatbin, 0x1000);

        Assert.Equal(["keccak256_gpu_hash_80", "blake2b_search", "scale_rows"], image!.Kernels);
        Assert.Equal(1, image.CompressedEntries);
        Assert.Equal(0, image.UndecodedEntries);
        Assert.Equal([HashConstants.Sha256], image.HashHits.Select(h => h.Algorithm));
        Assert.Equal(fatbin.Length, image.Length);
    }

    [Fact]
    public void Compressed_entry_that_is_no_lz4_block_of_its_claimed_size_is_counted_not_decoded()
    {
        var fatbin = TestImages.Fatbin((2, TestImages.Elf(CudaElfImage.MachineCuda, ["k"], TestImages.Sha256Table()), true));
        BinaryPrimitives.WriteUInt64LittleEndian(fatbin.AsSpan(16 + 0x38), 1 << 20); // claims more than the block holds

        var image = GpuCodeSearch.Analyze(GpuCodeKind.Fatbin, fatbin, 0);

        Assert.Equal((1, 1), (image!.CompressedEntries, image.UndecodedEntries));
        Assert.Empty(image.Kernels);
    }

    [Fact]
    public void Compressed_entry_larger_than_the_decode_buffer_is_counted_not_decoded()
    {
        var fatbin = TestImages.Fatbin((2, TestImages.Elf(CudaElfImage.MachineCuda, ["k"], new byte[64 << 10]), true));

        var image = GpuCodeSearch.Analyze(GpuCodeKind.Fatbin, fatbin, 0, new GpuCodeScratch(maxDecodedEntryBytes: 4096));

        Assert.Equal(1, image!.UndecodedEntries);
    }

    [Fact]
    public void Constant_table_printed_as_a_ptx_byte_array_is_found()
    {
        var bytes = string.Join(", ", TestImages.Sha256Table().Select(b => b.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var ptx = Encoding.ASCII.GetBytes(".version 7.8\n.target sm_90\n.const .align 4 .b8 weights[64] = {" + bytes + "};\n\n.visible .entry scale(\n)\n{\n\tret;\n}\n\0");

        var image = GpuCodeSearch.Analyze(GpuCodeKind.Ptx, ptx, 0);

        Assert.Equal(["scale"], image!.Kernels);
        Assert.Equal("SHA-256 round-constant table", Assert.Single(image.HashHits).Evidence);
    }

    [Fact]
    public void Blake2b_iv_table_is_not_mistaken_for_sha256_immediates()
    {
        // Blake2b's IV words have SHA-256's IV as their upper halves.
        var table = new byte[64];
        for (var i = 0; i < 8; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(table.AsSpan(i * 8), HashConstants.Blake2bIv[i]);
        }

        Assert.Equal([HashConstants.Blake2b], HashConstants.FindInBinary(table).Select(h => h.Algorithm));
    }

    [Fact]
    public void Candidates_are_found_in_offset_order_and_cpu_elves_are_not_candidates()
    {
        var buffer = new byte[8192];
        TestImages.Elf(TestImages.MachineX86_64, ["main"], new byte[16]).CopyTo(buffer, 100);
        TestImages.Fatbin((1, TestImages.Ptx("k", []), false)).CopyTo(buffer, 3000);
        TestImages.Elf(CudaElfImage.MachineCuda, ["k"], new byte[16]).CopyTo(buffer, 1000);
        var candidates = new List<GpuCodeCandidate>();

        GpuCodeSearch.FindCandidates(buffer, buffer.Length, candidates);

        Assert.Equal([(GpuCodeKind.Cubin, 1000), (GpuCodeKind.Fatbin, 3000)], candidates.Take(2).Select(c => (c.Kind, c.Offset)));
        Assert.Contains(candidates, c => c.Kind == GpuCodeKind.Ptx && c.Offset > 3000);
        Assert.DoesNotContain(candidates, c => c.Offset == 100);
    }

    [Fact]
    public void Candidates_at_or_past_the_limit_are_left_for_the_next_chunk()
    {
        var buffer = new byte[4096];
        TestImages.Elf(CudaElfImage.MachineCuda, ["k"], new byte[16]).CopyTo(buffer, 2048);
        var candidates = new List<GpuCodeCandidate>();

        GpuCodeSearch.FindCandidates(buffer, 2048, candidates);

        Assert.Empty(candidates);
    }
}
