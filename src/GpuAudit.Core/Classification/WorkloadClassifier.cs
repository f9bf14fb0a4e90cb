// TEMPORARY placeholder until the classifier branch lands (replaced by that branch's file).
#pragma warning disable CA1822
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Classification;

public sealed record ClassifierOptions
{
    public static ClassifierOptions Default { get; } = new();
}

public sealed class WorkloadClassifier(ClassifierOptions? options = null)
{
    public ClassifierOptions Options { get; } = options ?? ClassifierOptions.Default;

    public void ObserveProcess(ProcessRecord process) => _ = process;

    public void ObserveFindings(int pid, IReadOnlyList<ProcessFinding> findings) => _ = (pid, findings);

    public GpuVerdicts? Observe(GpuSample sample)
    {
        var c = sample.UtilGpuPct is < 5 ? WorkloadClass.Idle : WorkloadClass.Unknown;
        var gpu = new Verdict(sample.Time, sample.Gpu, null, c, 0.5, ["placeholder"]);
        return new GpuVerdicts(gpu, [.. sample.Procs.Select(p => gpu with { Pid = p.Pid })]);
    }
}
