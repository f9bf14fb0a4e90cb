using System.Globalization;
using GpuAudit.Core.Inspection;

namespace GpuAudit.Linux;

/// <summary>
/// What a GPU code scan of one process found so far. Regions are cached between scans, so a
/// truncated scan resumes where the budget stopped it and the images list accumulates.
/// </summary>
public sealed record GpuCodeScanResult
{
    public required int Pid { get; init; }

    public IReadOnlyList<GpuCodeImage> Images { get; init; } = [];

    /// <summary>Bytes read from the process in this scan (cached regions cost nothing).</summary>
    public long BytesScanned { get; init; }

    /// <summary>Regions reused from the cache because they were scanned before and are unchanged.</summary>
    public int RegionsCached { get; init; }

    /// <summary>Readable regions not yet scanned because the budget ran out.</summary>
    public int RegionsPending { get; init; }

    /// <summary>Distinct images over the caps (per region, per scanner): counted, not listed.</summary>
    public int ImagesNotKept { get; init; }

    /// <summary>Fatbins nested inside other images (crafted memory) left unanalysed once the region's work budget was spent.</summary>
    public int NestedImagesSkipped { get; init; }

    /// <summary>Compressed fatbin entries seen (decoded and searched unless counted in <see cref="UndecodedEntries"/>).</summary>
    public int CompressedEntries => Images.Sum(i => i.CompressedEntries);

    /// <summary>Compressed entries not decoded: another codec, larger than the working set allows, or crafted.</summary>
    public int UndecodedEntries => Images.Sum(i => i.UndecodedEntries);

    public bool Truncated => RegionsPending > 0;

    public TimeSpan Elapsed { get; init; }

    public IReadOnlyList<string> Unreadable { get; init; } = [];

    /// <summary>Kernel names found in GPU code images, distinct, in order of discovery.</summary>
    public IReadOnlyList<string> Kernels => Images.SelectMany(i => i.Kernels).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Evidence: hash constants inside GPU code and known miner kernels.</summary>
    public IReadOnlyList<ProcessFinding> Findings()
    {
        var findings = new List<ProcessFinding>();
        // One finding per distinct image (its copies are counted in it), naming every algorithm it holds.
        foreach (var image in Images.Where(i => i.HashHits.Count > 0))
        {
            var where = KindName(image.Kind) + " at 0x" + image.Address.ToString("x", CultureInfo.InvariantCulture);
            var kernels = image.Kernels.Count > 0 ? " (kernels: " + string.Join(", ", image.Kernels.Take(8)) + ")" : string.Empty;
            var copies = image.Copies > 1 ? " [" + image.Copies.ToString(CultureInfo.InvariantCulture) + " copies]" : string.Empty;
            var hits = string.Join("; ", image.HashHits.Select(h => h.Algorithm + ": " + h.Evidence));
            findings.Add(new ProcessFinding(FindingKind.HashConstantInGpuCode, hits + " in " + where + kernels + copies));
        }

        var minerKernels = Kernels.Where(MinerSignatures.IsMinerKernel).ToList();
        if (minerKernels.Count > 0)
        {
            findings.Add(new ProcessFinding(FindingKind.MinerKernel, "GPU code holds known miner kernels: " + string.Join(", ", minerKernels.Take(16))));
        }

        return findings;
    }

    /// <summary>The insight with this scan's findings and what it could not read added.</summary>
    public ProcessInsight AddTo(ProcessInsight insight) => insight.With(Findings(), Unreadable);

    public static string KindName(GpuCodeKind kind) => kind switch
    {
        GpuCodeKind.Cubin => "cubin",
        GpuCodeKind.Fatbin => "fatbin",
        _ => "ptx",
    };
}
