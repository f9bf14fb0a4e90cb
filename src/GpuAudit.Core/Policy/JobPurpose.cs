using GpuAudit.Core.Classification;

namespace GpuAudit.Core.Policy;

/// <summary>
/// What a job's GPUs are for, from the scheduler (the GPU map's <c>purpose=</c> field) or the
/// policy (<c>default_purpose</c>, per partition or account). Decides which classes of work are
/// diverted from the job (docs/policy.md).
/// </summary>
public enum JobPurpose
{
    /// <summary>Anything goes: only hashing is diversion, and <c>diverted_compute</c> never opens.</summary>
    Any,
    Training,
    Inference,
    Compute,
}

public static class JobPurposes
{
    private static readonly string[] Names = ["any", "training", "inference", "compute"];

    public static IReadOnlyList<JobPurpose> All { get; } = Enum.GetValues<JobPurpose>();

    public static string Label(this JobPurpose purpose) => Names[(int)purpose];

    public static bool TryParse(string? label, out JobPurpose purpose)
    {
        var i = Array.IndexOf(Names, label);
        purpose = i >= 0 ? (JobPurpose)i : JobPurpose.Any;
        return i >= 0;
    }

    /// <summary>
    /// Whether work of <paramref name="workClass"/> on a GPU of a job with this purpose is diverted from
    /// it: the one definition the rules, the GPU-minutes diverted and the reports share. Hashing is
    /// never a purpose. A training job may also evaluate (inference) and wait (idle); an inference job
    /// may wait; a compute job may run anything but hashing. <c>unknown</c> (no pipe mix) and
    /// <c>mixed</c> (judged process by process) are never diverted as such.
    /// </summary>
    public static bool Diverts(this JobPurpose purpose, WorkloadClass workClass) => workClass switch
    {
        WorkloadClass.Hash => true,
        WorkloadClass.Compute => purpose is JobPurpose.Training or JobPurpose.Inference,
        WorkloadClass.Training => purpose is JobPurpose.Inference,
        _ => false,
    };
}
