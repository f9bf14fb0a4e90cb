namespace GpuAudit.Core.Classification;

/// <summary>
/// What a GPU or a process was doing over a window. <see cref="Mixed"/> is for a whole GPU whose
/// processes were classified differently (a GPU-level verdict only).
/// </summary>
public enum WorkloadClass
{
    Idle,
    Training,
    Inference,
    Compute,
    Hash,
    Unknown,
    Mixed,
}

public static class WorkloadClassNames
{
    private static readonly string[] Names = ["idle", "training", "inference", "compute", "hash", "unknown", "mixed"];

    /// <summary>Every class, in enum order.</summary>
    public static IReadOnlyList<WorkloadClass> All { get; } = Enum.GetValues<WorkloadClass>();

    /// <summary>The lower-case label used in JSON, metrics and reports.</summary>
    public static string Label(this WorkloadClass value) => Names[(int)value];

    public static bool TryParse(string? label, out WorkloadClass value)
    {
        var i = Array.IndexOf(Names, label);
        value = i >= 0 ? (WorkloadClass)i : WorkloadClass.Unknown;
        return i >= 0;
    }
}
