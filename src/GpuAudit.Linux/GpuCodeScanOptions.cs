namespace GpuAudit.Linux;

/// <summary>The budget and caching of the GPU code scan (docs/inspector.md, "Memory scan").</summary>
public sealed record GpuCodeScanOptions
{
    /// <summary>Busy time one scan of one process may take before it stops and resumes next time.</summary>
    public TimeSpan PerScanBudget { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Busy time all scans together may take per minute (one core at 5% by default).</summary>
    public TimeSpan PerMinuteBudget { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Anonymous regions whose bounds did not change are re-read after this long (their contents may have).</summary>
    public TimeSpan AnonymousRescanInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Regions larger than this are scanned in their first this-many bytes only (huge heaps, DAGs).</summary>
    public long MaxRegionBytes { get; init; } = 1L << 30;

    /// <summary>Bytes read from /proc/PID/mem at a time.</summary>
    public int ChunkBytes { get; init; } = 1 << 20;
}
