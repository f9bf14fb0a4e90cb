namespace GpuAudit.Core.Kernels;

/// <summary>What the kernel ledger knows at one moment: every process's kernels, and its own health.</summary>
public sealed record KernelLedgerSnapshot
{
    public static KernelLedgerSnapshot Empty { get; } = new();

    public DateTimeOffset Time { get; init; }

    public IReadOnlyDictionary<int, ProcessKernels> Processes { get; init; } = new Dictionary<int, ProcessKernels>();

    /// <summary>
    /// For each watched process whose libcuda carries the probes: since when (the latest attach of
    /// its files). Launches after that time are all counted; a process not here is not covered.
    /// </summary>
    public IReadOnlyDictionary<int, DateTimeOffset> CoveredSince { get; init; } = new Dictionary<int, DateTimeOffset>();

    /// <summary>The libcuda files with probes on them, as "path (dev:inode)".</summary>
    public IReadOnlyList<string> Libraries { get; init; } = [];

    /// <summary>Launches the BPF program could not count (its map full).</summary>
    public long LaunchesLost { get; init; }

    /// <summary>Names and module loads lost: ring buffer full, per-process budgets, or this side's cap.</summary>
    public long EventsLost { get; init; }
}
