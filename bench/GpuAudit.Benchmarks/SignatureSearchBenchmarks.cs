namespace GpuAudit.Benchmarks;

/// <summary>
/// Throughput of the memory scan's signature search on one core: finding GPU code candidates in
/// 64 MiB of process-like memory (1 MiB chunks, as the scanner reads them), and searching a GPU
/// image for hash constants. GB/s = 64 MiB / mean time (docs/inspector.md).
/// </summary>
[MemoryDiagnoser]
public class SignatureSearchBenchmarks
{
    private const int Chunk = 1 << 20;
    private readonly List<GpuCodeCandidate> candidates = [];
    private byte[] memory = [];

    [GlobalSetup]
    public void Setup()
    {
        // Random bytes with ELF-like and text-like noise: realistic first-byte hit rates for the needles.
        var random = new Random(42);
        memory = new byte[64 << 20];
        random.NextBytes(memory);
        for (var i = 0; i < memory.Length; i += 4096)
        {
            ".text\0.data\0.entry"u8.CopyTo(memory.AsSpan(i + 100));
            memory[i + 200] = 0x7F;
            memory[i + 201] = (byte)'E';
            memory[i + 202] = (byte)'L';
            memory[i + 203] = (byte)'F';
        }
    }

    [Benchmark(Description = "FindCandidates over 64 MiB")]
    public int FindCandidates()
    {
        var found = 0;
        for (var offset = 0; offset < memory.Length; offset += Chunk)
        {
            candidates.Clear();
            GpuCodeSearch.FindCandidates(memory.AsSpan(offset, Math.Min(Chunk + GpuCodeSearch.CandidateHeaderBytes, memory.Length - offset)), Chunk, candidates);
            found += candidates.Count;
        }

        return found;
    }

    [Benchmark(Description = "HashConstants.FindInBinary over 64 MiB")]
    public int FindHashConstants() => HashConstants.FindInBinary(memory).Count;
}
