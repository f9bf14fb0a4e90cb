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
    IReadOnlyList<string> Evidence);

/// <summary>The verdicts of one GPU at one point in time: the GPU as a whole and each process on it.</summary>
public sealed record GpuVerdicts(Verdict Gpu, IReadOnlyList<Verdict> Processes);
