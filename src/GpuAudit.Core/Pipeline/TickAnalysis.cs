using GpuAudit.Core.Classification;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Pipeline;

/// <summary>
/// Everything the pipeline knows after one tick: each GPU with its sample, collector health,
/// verdict and scheduler allocation, and each process on a GPU with its identity, inspection
/// and verdict. Immutable: exporters, the policy and the journal all read the same object.
/// </summary>
public sealed record TickAnalysis(double Time, IReadOnlyList<GpuView> Gpus, IReadOnlyList<ProcessView> Processes);

/// <summary>One GPU at one tick. <see cref="Sample"/> is null when its collector failed.</summary>
public sealed record GpuView(
    GpuDevice Device,
    GpuSample? Sample,
    CollectorStatus Collector,
    Verdict? Verdict,
    JobRef? AllocatedJob);

/// <summary>One process on one GPU at one tick.</summary>
public sealed record ProcessView(
    int Gpu,
    string Uuid,
    ProcessUsage Usage,
    ProcessRecord? Identity,
    ProcessInsight? Insight,
    Verdict? Verdict)
{
    public int Pid => Usage.Pid;
}
