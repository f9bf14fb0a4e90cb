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

/// <summary>What one GPU code image holds: kernel names and hash constants found inside it.</summary>
public sealed record GpuCodeImage(
    GpuCodeKind Kind,
    long Address,
    long Length,
    IReadOnlyList<string> Kernels,
    IReadOnlyList<HashConstantHit> HashHits,
    int CompressedEntries = 0);

/// <summary>
/// The signature search of the memory scan: finds where CUDA ELF images (e_machine 190), fatbin
/// containers and PTX <c>.entry</c> directives start in a buffer, then analyses one image. Each
/// needle is found with the vectorized <see cref="MemoryExtensions.IndexOf{T}(ReadOnlySpan{T}, ReadOnlySpan{T})"/>,
/// so the search runs at memory speed and allocates only for what it finds.
/// </summary>
public static class GpuCodeSearch
{
    /// <summary>Bytes a candidate needs to be recognised: the scanner overlaps its chunks by this much.</summary>
    public const int CandidateHeaderBytes = 64;

    private static readonly Comparer<GpuCodeCandidate> ByOffset = Comparer<GpuCodeCandidate>.Create((a, b) => a.Offset.CompareTo(b.Offset));

    /// <summary>Adds the candidates that start before <paramref name="limit"/> to <paramref name="into"/>, in offset order.</summary>
    public static void FindCandidates(ReadOnlySpan<byte> buffer, int limit, List<GpuCodeCandidate> into)
    {
        var first = into.Count;
        FindCubins(buffer, limit, into);
        FindNeedle(buffer, limit, FatbinContainer.Magic, GpuCodeKind.Fatbin, into);
        FindNeedle(buffer, limit, PtxText.EntryDirective, GpuCodeKind.Ptx, into);
        into.Sort(first, into.Count - first, ByOffset);
    }

    /// <summary>
    /// Analyses the image of <paramref name="kind"/> that starts <paramref name="bytes"/>, which
    /// holds as much of it as the caller could read (see <see cref="ClaimedLength"/>). Null when
    /// the bytes do not hold such an image after all.
    /// </summary>
    public static GpuCodeImage? Analyze(GpuCodeKind kind, ReadOnlySpan<byte> bytes, long address) => kind switch
    {
        GpuCodeKind.Cubin => AnalyzeCubin(bytes, address),
        GpuCodeKind.Fatbin => AnalyzeFatbin(bytes, address),
        _ => AnalyzePtx(bytes, address),
    };

    /// <summary>
    /// How many bytes the image starting <paramref name="header"/> claims, for the caller to read
    /// before <see cref="Analyze"/> (PTX runs to its NUL, at most <see cref="PtxText.MaxBodyBytes"/>).
    /// </summary>
    public static long ClaimedLength(GpuCodeKind kind, ReadOnlySpan<byte> header) => kind switch
    {
        GpuCodeKind.Cubin => CudaElfImage.ReadHeader(header)?.Length ?? 0,
        GpuCodeKind.Fatbin => FatbinContainer.ReadLength(header) ?? 0,
        _ => PtxText.MaxBodyBytes,
    };

    private static GpuCodeImage? AnalyzeCubin(ReadOnlySpan<byte> bytes, long address)
    {
        if (CudaElfImage.TryParse(bytes) is not { IsCuda: true } elf)
        {
            return null;
        }

        var extent = bytes[..(int)Math.Min(elf.Length, bytes.Length)];
        return new GpuCodeImage(GpuCodeKind.Cubin, address, extent.Length, elf.Kernels, HashConstants.FindInBinary(extent));
    }

    private static GpuCodeImage? AnalyzeFatbin(ReadOnlySpan<byte> bytes, long address)
    {
        if (FatbinContainer.ReadLength(bytes) is not { } claimed)
        {
            return null;
        }

        var kernels = new List<string>();
        var hits = new List<HashConstantHit>();
        var compressed = 0;
        foreach (var entry in FatbinContainer.Parse(bytes))
        {
            if (entry.Compressed)
            {
                compressed++;
                continue;
            }

            var payload = bytes.Slice(entry.PayloadOffset, entry.PayloadLength);
            if (entry.Kind == FatbinEntryKind.Elf && CudaElfImage.TryParse(payload) is { IsCuda: true } elf)
            {
                kernels.AddRange(elf.Kernels);
                hits.AddRange(HashConstants.FindInBinary(payload));
            }
            else if (entry.Kind == FatbinEntryKind.Ptx)
            {
                kernels.AddRange(PtxText.EntryNames(payload));
                hits.AddRange(HashConstants.FindInPtx(payload));
            }
        }

        return new GpuCodeImage(GpuCodeKind.Fatbin, address, Math.Min(claimed, bytes.Length), kernels, Distinct(hits), compressed);
    }

    private static GpuCodeImage? AnalyzePtx(ReadOnlySpan<byte> bytes, long address)
    {
        if (!bytes.StartsWith(PtxText.EntryDirective) || PtxText.EntryNameAt(bytes, PtxText.EntryDirective.Length) is null)
        {
            return null;
        }

        var body = PtxText.BodyFrom(bytes, 0);
        return new GpuCodeImage(GpuCodeKind.Ptx, address, body.Length, PtxText.EntryNames(body), HashConstants.FindInPtx(body));
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
