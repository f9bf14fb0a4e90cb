namespace GpuAudit.Core.Inspection;

/// <summary>
/// The scheduler job a process or GPU belongs to, and where that was learnt:
/// <c>slurm-cgroup</c>, <c>slurm-env</c>, <c>kubernetes</c>, <c>gpu-map</c> (scheduler-written
/// GPU→job files) or <c>config</c>.
/// </summary>
public sealed record JobRef(string Id, string Source, string? User = null);
