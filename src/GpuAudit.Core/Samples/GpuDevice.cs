namespace GpuAudit.Core.Samples;

/// <summary>
/// A GPU as the auditor names it. <see cref="Uuid"/> is the join key everywhere (NVML's index
/// order is not stable across boots); <see cref="Index"/> is for people.
/// </summary>
public sealed record GpuDevice(
    int Index,
    string Uuid,
    string Name,
    string Driver,
    long? MemTotalBytes,
    bool GpmSupported,
    string? PciBusId = null,
    bool? MigEnabled = null);
