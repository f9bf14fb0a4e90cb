using GpuAudit.Core.Classification;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Pipeline;

/// <summary>
/// Everything the pipeline knows after one tick: each GPU with its sample, collector health,
/// verdict, scheduler allocation and its own processes; each process on a GPU with its identity,
/// insight, job attribution and verdict; and what the policy opened, closed and holds open.
/// Immutable: exporters, the journal and the console summary all read the same object.
/// </summary>
public sealed record TickAnalysis(double Time, IReadOnlyList<GpuView> Gpus, IReadOnlyList<ProcessView> Processes, PolicyResult Policy)
{
    /// <summary><see cref="Gpus"/> as a span: the per-tick loops read it without an interface call (or an enumerator) per GPU.</summary>
    public ReadOnlySpan<GpuView> GpuSpan => Gpus as GpuView[] ?? [.. Gpus];

    /// <summary><see cref="Processes"/> as a span: the per-tick loops read it without an interface call per process.</summary>
    public ReadOnlySpan<ProcessView> ProcessSpan => Processes as ProcessView[] ?? [.. Processes];
}

/// <summary>
/// One GPU at one tick. <see cref="Sample"/> is null when its collector failed.
/// <see cref="Processes"/> is this GPU's slice of <see cref="TickAnalysis.Processes"/> (sample
/// order), so per-GPU readers never scan every process of the node.
/// <see cref="NewVerdicts"/> holds the verdicts the classifier produced at this tick (the GPU's and
/// every process's in its window), null on the ticks in between; <see cref="Verdict"/> is the
/// latest GPU verdict.
/// </summary>
public sealed record GpuView(
    GpuDevice Device,
    GpuSample? Sample,
    CollectorStatus Collector,
    Verdict? Verdict,
    JobRef? AllocatedJob,
    IReadOnlyList<ProcessView> Processes,
    GpuVerdicts? NewVerdicts = null)
{
    /// <summary><see cref="Processes"/> as a span (the pipeline hands each GPU a slice of one array): no interface call per process.</summary>
    public ReadOnlySpan<ProcessView> ProcessSpan
    {
        get
        {
            if (Processes is ArraySegment<ProcessView> slice)
            {
                return slice;
            }

            ProcessView[] all = Processes as ProcessView[] ?? [.. Processes];
            return all;
        }
    }
}

/// <summary>
/// One process on one GPU at one tick. <see cref="Attribution"/> is the job it is accounted to
/// (its own claim, the GPU's allocation, or none), resolved once per tick for every reader.
/// </summary>
public sealed record ProcessView(
    int Gpu,
    string Uuid,
    ProcessUsage Usage,
    ProcessRecord? Identity,
    ProcessInsight? Insight,
    JobAttribution Attribution,
    Verdict? Verdict)
{
    public int Pid => Usage.Pid;
}
