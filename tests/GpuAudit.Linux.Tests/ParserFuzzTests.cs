using CsCheck;
using GpuAudit.Tests.Inspection;

namespace GpuAudit.Linux.Tests;

/// <summary>
/// The parsers read memory and procfs text that a hostile process controls: over random and
/// mutated inputs they must return (bounded loops, checked offsets) and keep their invariants.
/// </summary>
public class ParserFuzzTests
{
    // Seed images carry no hash constants: the live-memory scan tests must not see them as evidence.
    private static readonly byte[][] Seeds =
    [
        TestImages.Elf(CudaElfImage.MachineCuda, ["kernel_a", "kernel_b"], new byte[96]),
        TestImages.Fatbin((2, TestImages.Elf(CudaElfImage.MachineCuda, ["k"], new byte[32]), false), (1, TestImages.Ptx("p", [7, 8]), false), (2, new byte[40], true)),
        TestImages.Ptx("entry_one", [1, 2, 3]),
    ];

    private static readonly Gen<byte[]> RandomBytes = Gen.Byte.Array[0, 2048];

    // A seed with 1..32 bytes overwritten: headers, offsets and counts all get hit.
    private static readonly Gen<byte[]> MutatedImages =
        Gen.Int[0, Seeds.Length - 1].SelectMany(seed =>
            Gen.Select(Gen.Int[0, Seeds[seed].Length - 1], Gen.Byte).Array[1, 32].Select(edits =>
            {
                var bytes = (byte[])Seeds[seed].Clone();
                foreach (var (at, value) in edits)
                {
                    bytes[at] = value;
                }

                return bytes;
            }));

    [Fact]
    public void Gpu_code_parsers_survive_random_bytes() => RandomBytes.Sample(ParseEverything, iter: 3000);

    [Fact]
    public void Gpu_code_parsers_survive_mutated_images() => MutatedImages.Sample(ParseEverything, iter: 5000);

    [Fact]
    public void Procfs_text_parsers_survive_random_text()
    {
        var text = Gen.OneOf(Gen.String, Gen.Char["0123456789abcdefABCDEF:-() /\n\t[]x"].Array[0, 512].Select(c => new string(c)));
        text.Sample(
            t =>
            {
                Assert.All(MemoryRegion.ParseMaps(t), r => Assert.True(r.End >= r.Start));
                _ = TcpSocket.ParseTable(t);
                _ = ProcStat.TryParse(t);
                _ = ProcStat.RealUid(t);
                _ = ProcStat.SlurmJobId(t);
                _ = CgroupIdentity.Parse(t);
                _ = SecretRedactor.RedactText(t);
                _ = TunnelSignatures.Describe(t.Split(' '));
                _ = MinerSignatures.CommandLineMarkers(t.Split('\0'));
            },
            iter: 3000);
    }

    [Fact]
    public void Redaction_never_lets_a_url_password_through()
    {
        Gen.Select(Gen.Char["abcdefgh0123"].Array[1, 12], Gen.Char["ijklmnop4567"].Array[1, 12]).Sample(
            (user, password) =>
            {
                var url = "stratum+tcp://" + new string(user) + ":" + new string(password) + "@pool.example:3333";
                var redacted = SecretRedactor.Redact(["miner", "-o", url]);

                Assert.DoesNotContain(":" + new string(password) + "@", redacted, StringComparison.Ordinal);
                Assert.Contains("stratum+tcp://***@pool.example:3333", redacted, StringComparison.Ordinal);
            },
            iter: 500);
    }

    private static void ParseEverything(byte[] bytes)
    {
        if (CudaElfImage.TryParse(bytes) is { } elf)
        {
            Assert.InRange(elf.Length, CudaElfImage.HeaderSize, CudaElfImage.MaxImageBytes);
        }

        foreach (var entry in FatbinContainer.Parse(bytes))
        {
            Assert.InRange(entry.PayloadOffset + (long)entry.PayloadLength, 0, bytes.Length);
        }

        _ = PtxText.EntryNames(bytes);
        _ = HashConstants.FindInPtx(bytes);
        _ = HashConstants.FindInBinary(bytes);

        var candidates = new List<GpuCodeCandidate>();
        GpuCodeSearch.FindCandidates(bytes, bytes.Length, candidates);
        foreach (var candidate in candidates)
        {
            var from = bytes.AsSpan(candidate.Offset);
            var claimed = GpuCodeSearch.ClaimedLength(candidate.Kind, from);
            var image = GpuCodeSearch.Analyze(candidate.Kind, from[..(int)Math.Clamp(claimed, 0, from.Length)], candidate.Offset);
            if (image is not null)
            {
                Assert.InRange(image.Length, 0, from.Length);
            }
        }
    }
}
