namespace GpuAudit.Linux;

/// <summary>The budgets, caps and caching of the GPU code scan (docs/inspector.md, "Memory scan").</summary>
public sealed record GpuCodeScanOptions
{
    /// <summary>CPU time one scan of one process may take before it stops and resumes next time.</summary>
    public TimeSpan PerScanBudget { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>CPU time all scans together may take per minute (one core at 5% by default).</summary>
    public TimeSpan PerMinuteBudget { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Anonymous regions whose bounds did not change are re-read after this long (their contents may have).</summary>
    public TimeSpan AnonymousRescanInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>File-backed regions no scanned process mapped for this long are forgotten.</summary>
    public TimeSpan FileRegionRetention { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Regions larger than this are scanned in their first this-many bytes only (huge heaps, DAGs).</summary>
    public long MaxRegionBytes { get; init; } = 1L << 30;

    /// <summary>Bytes read from /proc/PID/mem at a time.</summary>
    public int ChunkBytes { get; init; } = 1 << 20;

    /// <summary>Bytes of one image read and analysed: a header claiming more is analysed in its first this-many bytes.</summary>
    public int MaxImageBytes { get; init; } = 16 << 20;

    /// <summary>
    /// Ceiling on the scan's buffers together: the chunk, one image and one decoded compressed
    /// fatbin entry (which gets what the other two leave). The agent's memory does not grow with
    /// what a watched process holds.
    /// </summary>
    public long WorkingSetBytes { get; init; } = 64L << 20;

    /// <summary>Distinct images kept per region (identical ones count as copies of one); images carrying evidence have as many again of their own.</summary>
    public int MaxImagesPerRegion { get; init; } = 256;

    /// <summary>Distinct images kept across all regions and processes; images carrying evidence have as many again of their own.</summary>
    public int MaxKeptImages { get; init; } = 8192;

    /// <summary>The decoded-entry buffer: the working set less the chunk and the image buffer.</summary>
    internal int MaxDecodedEntryBytes => (int)Math.Min(int.MaxValue, WorkingSetBytes - ChunkBytes - GpuAudit.Core.Inspection.GpuCodeSearch.CandidateHeaderBytes - MaxImageBytes);

    internal void Validate()
    {
        if (ChunkBytes < 4096 || MaxImageBytes < 4096 || MaxDecodedEntryBytes < 4096 || MaxImagesPerRegion < 1 || MaxKeptImages < 1)
        {
            throw new ArgumentException("GpuCodeScanOptions: the working set must hold a chunk, an image and a decoded entry of at least 4 KiB each, and the image caps must be positive");
        }
    }
}
