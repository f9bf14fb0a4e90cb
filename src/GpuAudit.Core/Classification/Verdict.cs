namespace GpuAudit.Core.Classification;

/// <summary>
/// A classification of one GPU (<see cref="Pid"/> null) or one process on it over the window
/// ending at <see cref="Time"/> (Unix seconds). <see cref="Evidence"/> holds short readable reasons
/// with the numbers that drove the decision.
/// </summary>
public sealed record Verdict(
    double Time,
    int Gpu,
    int? Pid,
    WorkloadClass Class,
    double Confidence,
    IReadOnlyList<string> Evidence)
{
    /// <summary>
    /// The pids this verdict's work may belong to when it could not be pinned on one process; empty
    /// otherwise. On a process folded into the split's residual term: the residual's members. On a GPU
    /// whose hash-like work no process's own verdict accounts for (too many processes to separate, a
    /// pid that changes faster than a verdict forms, bursts too short for a process verdict): the
    /// processes that held the GPU, most SM time first.
    /// </summary>
    public IReadOnlyList<int> Candidates { get; init; } = [];

    /// <summary>
    /// On a GPU verdict: GPU-seconds of hash-like work this GPU's classifier has seen since it started
    /// (SM activity × time, split by SM share on a shared GPU). Monotonic, like a counter, so a reader
    /// that keeps the previous value counts each second once.
    /// </summary>
    public double HashSecondsTotal { get; init; }
}

/// <summary>The verdicts of one GPU at one point in time: the GPU as a whole and each process on it.</summary>
public sealed record GpuVerdicts(Verdict Gpu, IReadOnlyList<Verdict> Processes);
