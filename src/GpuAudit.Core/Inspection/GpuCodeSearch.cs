using System.Buffers.Binary;

namespace GpuAudit.Core.Inspection;

public enum GpuCodeKind
{
    Cubin,
    Fatbin,
    Ptx,
}

/// <summary>Where a GPU code image may start, relative to the searched buffer.</summary>
public readonly record struct GpuCodeCandidate(GpuCodeKind Kind, int Offset);

/// <summary>
/// What one GPU code image holds: kernel names (at most <see cref="GpuCodeSearch.MaxListedKernels"/>
/// kept, known miner kernels first; <paramref name="KernelsOmitted"/> counts the rest) and hash
/// constants found inside it. <paramref name="Copies"/>: how many identical images (same bytes)
/// the scan met; they are reported once.
/// </summary>
public sealed record GpuCodeImage(
    GpuCodeKind Kind,
    long Address,
    long Length,
    IReadOnlyList<string> Kernels,
    IReadOnlyList<HashConstantHit> HashHits,
    int CompressedEntries = 0,
    int UndecodedEntries = 0,
    int KernelsOmitted = 0,
    int Copies = 1);

/// <summary>
/// Scratch and work accounting that the analyses of one memory region share: the buffer that
/// compressed fatbin entries are decoded into (its size caps one entry), how many decoded bytes
/// the region may still cost, and how far the region's bytes have been searched for hash
/// constants, so that images that overlap (crafted ones) never get the same bytes searched twice.
/// </summary>
public sealed class GpuCodeScratch(int maxDecodedEntryBytes = GpuCodeScratch.DefaultMaxDecodedEntryBytes)
{
    public const int DefaultMaxDecodedEntryBytes = 32 << 20;

    private byte[] decodeBuffer = [];

    /// <summary>Bytes the region's compressed entries may still decode to (each decoded byte is also searched).</summary>
    public long DecodeBudget { get; set; } = long.MaxValue;

    /// <summary>Address up to which the region's raw bytes were searched for hash constants.</summary>
    public long SearchedUpTo { get; set; } = long.MinValue;

    public int MaxDecodedEntryBytes { get; } = maxDecodedEntryBytes;

    /// <summary>A buffer of at least <paramref name="length"/> bytes, grown on demand (never past the cap).</summary>
    internal Span<byte> DecodeBuffer(long length)
    {
        if (length > MaxDecodedEntryBytes)
        {
            return [];
        }

        if (decodeBuffer.Length < length)
        {
            decodeBuffer = GC.AllocateUninitializedArray<byte>((int)Math.Min(MaxDecodedEntryBytes, Math.Max(length, decodeBuffer.Length * 2L)));
        }

        return decodeBuffer;
    }
}

/// <summary>
/// The signature search of the memory scan: finds where CUDA ELF images (e_machine 190), fatbin
/// containers and PTX modules (<c>.version</c>, or a lone <c>.entry</c>) start in a buffer, then
/// analyses one image. Each needle is found with the vectorized
/// <see cref="MemoryExtensions.IndexOf{T}(ReadOnlySpan{T}, ReadOnlySpan{T})"/>, so the search runs at
/// memory speed and allocates only for what it finds.
/// </summary>
public static class GpuCodeSearch
{
    /// <summary>Bytes a candidate needs to be recognised: the scanner overlaps its chunks by this much.</summary>
    public const int CandidateHeaderBytes = 64;

    /// <summary>Kernel names kept per image (a cubin of a big library names thousands).</summary>
    public const int MaxListedKernels = 32;

    // A table that straddles where an earlier (overlapping) image's search ended is still seen whole.
    private const int SearchOverlap = 512;
    private const int MaxListedKernelBytes = 4 << 10;

    private static readonly Comparer<GpuCodeCandidate> ByOffset = Comparer<GpuCodeCandidate>.Create((a, b) => a.Offset.CompareTo(b.Offset));

    /// <summary>Adds the candidates that start before <paramref name="limit"/> to <paramref name="into"/>, in offset order.</summary>
    public static void FindCandidates(ReadOnlySpan<byte> buffer, int limit, List<GpuCodeCandidate> into)
    {
        var first = into.Count;
        FindCubins(buffer, limit, into);
        FindNeedle(buffer, limit, FatbinContainer.Magic, GpuCodeKind.Fatbin, into);
        FindNeedle(buffer, limit, PtxText.VersionDirective, GpuCodeKind.Ptx, into);
        FindNeedle(buffer, limit, PtxText.EntryDirective, GpuCodeKind.Ptx, into);
        into.Sort(first, into.Count - first, ByOffset);
    }

    /// <summary>Analyses one image on its own (tests, benchmarks, a single buffer).</summary>
    public static GpuCodeImage? Analyze(GpuCodeKind kind, ReadOnlySpan<byte> bytes, long address) =>
        Analyze(kind, bytes, address, new GpuCodeScratch());

    /// <summary>
    /// Analyses the image of <paramref name="kind"/> that starts <paramref name="bytes"/>, which
    /// holds as much of it as the caller could read (see <see cref="ClaimedLength"/>). Null when
    /// the bytes do not hold such an image after all.
    /// </summary>
    public static GpuCodeImage? Analyze(GpuCodeKind kind, ReadOnlySpan<byte> bytes, long address, GpuCodeScratch scratch) => kind switch
    {
        GpuCodeKind.Cubin => AnalyzeCubin(bytes, address, scratch),
        GpuCodeKind.Fatbin => AnalyzeFatbin(bytes, address, scratch),
        _ => AnalyzePtx(bytes, address),
    };

    /// <summary>
    /// How many bytes the image starting <paramref name="header"/> claims, for the caller to read
    /// before <see cref="Analyze(GpuCodeKind, ReadOnlySpan{byte}, long, GpuCodeScratch)"/> (PTX runs
    /// to its NUL: when the NUL is in <paramref name="header"/> that is the length, else <see cref="PtxText.MaxBodyBytes"/>).
    /// </summary>
    public static long ClaimedLength(GpuCodeKind kind, ReadOnlySpan<byte> header) => kind switch
    {
        GpuCodeKind.Cubin => CudaElfImage.ReadHeader(header)?.Length ?? 0,
        GpuCodeKind.Fatbin => FatbinContainer.ReadLength(header) ?? 0,
        _ => PtxLength(header),
    };

    /// <summary>Where the fatbin at the start of <paramref name="bytes"/> keeps uncompressed payloads (offsets, lengths, kinds).</summary>
    public static IEnumerable<FatbinEntry> PlainPayloads(ReadOnlySpan<byte> bytes) =>
        FatbinContainer.Parse(bytes).Where(e => !e.Compressed && e.Kind != FatbinEntryKind.Other);

    private static long PtxLength(ReadOnlySpan<byte> text)
    {
        var limited = text[..Math.Min(text.Length, PtxText.MaxBodyBytes)];
        var nul = limited.IndexOf((byte)0);
        return nul >= 0 ? nul : PtxText.MaxBodyBytes;
    }

    private static GpuCodeImage? AnalyzeCubin(ReadOnlySpan<byte> bytes, long address, GpuCodeScratch scratch)
    {
        if (CudaElfImage.TryParse(bytes) is not { IsCuda: true } elf)
        {
            return null;
        }

        var extent = bytes[..(int)Math.Min(elf.Length, bytes.Length)];
        var (kernels, omitted) = KeepKernels(elf.Kernels);
        return new GpuCodeImage(GpuCodeKind.Cubin, address, extent.Length, kernels, SearchUnsearched(extent, address, scratch), KernelsOmitted: omitted);
    }

    private static GpuCodeImage? AnalyzeFatbin(ReadOnlySpan<byte> bytes, long address, GpuCodeScratch scratch)
    {
        if (FatbinContainer.ReadLength(bytes) is not { } claimed)
        {
            return null;
        }

        var extent = bytes[..(int)Math.Min(claimed, bytes.Length)];
        var kernels = new List<string>();

        // The raw bytes first: uncompressed cubins' tables and immediates, and whatever a crafted
        // container's entries do not account for.
        var hits = new List<HashConstantHit>(SearchUnsearched(extent, address, scratch));
        var compressed = 0;
        var undecoded = 0;
        foreach (var entry in FatbinContainer.Parse(extent))
        {
            var payload = extent.Slice(entry.PayloadOffset, entry.PayloadLength);
            if (entry.Compressed)
            {
                compressed++;
                var buffer = entry.UncompressedLength <= scratch.DecodeBudget ? scratch.DecodeBuffer(entry.UncompressedLength) : [];
                var decoded = FatbinContainer.Decompress(entry, payload, buffer);
                if (decoded < 0)
                {
                    undecoded++;
                    continue;
                }

                scratch.DecodeBudget -= decoded;
                payload = buffer[..decoded];
                if (entry.Kind == FatbinEntryKind.Elf)
                {
                    hits.AddRange(HashConstants.FindInBinary(payload));
                }
            }

            if (entry.Kind == FatbinEntryKind.Elf && CudaElfImage.TryParse(payload) is { IsCuda: true } elf)
            {
                kernels.AddRange(elf.Kernels);
            }
            else if (entry.Kind == FatbinEntryKind.Ptx)
            {
                var text = PtxText.BodyFrom(payload, 0);
                kernels.AddRange(PtxText.EntryNames(text));
                hits.AddRange(HashConstants.FindInPtx(text));
            }
        }

        var (kept, omitted) = KeepKernels(kernels.Distinct(StringComparer.Ordinal).ToList());
        return new GpuCodeImage(GpuCodeKind.Fatbin, address, extent.Length, kept, Distinct(hits), compressed, undecoded, omitted);
    }

    private static GpuCodeImage? AnalyzePtx(ReadOnlySpan<byte> bytes, long address)
    {
        var body = PtxText.BodyFrom(bytes, 0);
        if (!body.StartsWith(PtxText.VersionDirective) && !body.StartsWith(PtxText.EntryDirective))
        {
            return null;
        }

        var names = PtxText.EntryNames(body);
        if (names.Count == 0)
        {
            return null;
        }

        var (kernels, omitted) = KeepKernels(names);
        return new GpuCodeImage(GpuCodeKind.Ptx, address, body.Length, kernels, HashConstants.FindInPtx(body), KernelsOmitted: omitted);
    }

    // Searches the part of an image's raw bytes that no earlier image of the region covered.
    private static IReadOnlyList<HashConstantHit> SearchUnsearched(ReadOnlySpan<byte> extent, long address, GpuCodeScratch scratch)
    {
        var from = scratch.SearchedUpTo <= address ? 0 : (int)Math.Min(extent.Length, Math.Max(0, scratch.SearchedUpTo - address - SearchOverlap));
        scratch.SearchedUpTo = Math.Max(scratch.SearchedUpTo, address + extent.Length);
        return from >= extent.Length ? [] : HashConstants.FindInBinary(extent[from..]);
    }

    // Known miner kernels first (they are evidence), then the others, within the name budget.
    private static (IReadOnlyList<string> Kept, int Omitted) KeepKernels(IReadOnlyList<string> names)
    {
        if (names.Count <= MaxListedKernels && names.Sum(n => n.Length) <= MaxListedKernelBytes)
        {
            return (names, 0);
        }

        var kept = new List<string>();
        var bytes = 0;
        foreach (var name in names.Where(MinerSignatures.IsMinerKernel).Concat(names.Where(n => !MinerSignatures.IsMinerKernel(n))))
        {
            if (kept.Count >= MaxListedKernels || bytes + name.Length > MaxListedKernelBytes)
            {
                break;
            }

            kept.Add(name);
            bytes += name.Length;
        }

        return (kept, names.Count - kept.Count);
    }

    private static List<HashConstantHit> Distinct(List<HashConstantHit> hits) =>
        hits.DistinctBy(h => h.Algorithm).ToList();

    private static void FindCubins(ReadOnlySpan<byte> buffer, int limit, List<GpuCodeCandidate> into)
    {
        var at = 0;
        while (at < limit)
        {
            var found = buffer[at..].IndexOf(CudaElfImage.Magic);
            if (found < 0 || at + found >= limit)
            {
                return;
            }

            var offset = at + found;
            // e_machine sits at byte 18 of the header: only CUDA images are candidates.
            if (offset + 20 <= buffer.Length && BinaryPrimitives.ReadUInt16LittleEndian(buffer[(offset + 18)..]) == CudaElfImage.MachineCuda)
            {
                into.Add(new GpuCodeCandidate(GpuCodeKind.Cubin, offset));
            }

            at = offset + 1;
        }
    }

    private static void FindNeedle(ReadOnlySpan<byte> buffer, int limit, ReadOnlySpan<byte> needle, GpuCodeKind kind, List<GpuCodeCandidate> into)
    {
        var at = 0;
        while (at < limit)
        {
            var found = buffer[at..].IndexOf(needle);
            if (found < 0 || at + found >= limit)
            {
                return;
            }

            into.Add(new GpuCodeCandidate(kind, at + found));
            at += found + 1;
        }
    }
}
