using GpuAudit.Core.Inspection;

namespace GpuAudit.Core.Policy;

/// <summary>
/// A rule that held long enough to open, on one GPU for one job (docs/policy.md). <see cref="Pid"/>
/// is the first process whose evidence fed it (null when the evidence was the GPU's alone);
/// <see cref="Pids"/> every process involved. <see cref="Job"/> is null when no trusted source names
/// a job. <see cref="End"/> is null while open and is then the last second evidence was seen.
/// <see cref="Evidence"/> is what opened it. When <see cref="AllowedBy"/> is set this is an allowed
/// finding, not a violation: journalled and reported with the allowance's reason, never alerted on.
/// The journal, reports and OTLP all write violations: the text a watched process controls
/// (executable, evidence) is redacted whenever it is set.
/// </summary>
public sealed record Violation
{
    private readonly Severity? _severity;

    public required string Id { get; init; }

    public required PolicyRule Rule { get; init; }

    /// <summary>The rule's severity (<see cref="PolicyRuleNames.SeverityOf"/>), except a <c>diverted_compute</c> violation whose diverted work includes hashing: critical.</summary>
    public Severity Severity
    {
        get => _severity ?? Rule.SeverityOf();
        init => _severity = value;
    }

    public string? Node { get; init; }

    public required int Gpu { get; init; }

    public required string Uuid { get; init; }

    public int? Pid { get; init; }

    /// <summary>Every process whose evidence fed this violation (up to 64), in order of first sight.</summary>
    public IReadOnlyList<int> Pids { get; init; } = [];

    public string? Job { get; init; }

    public string? User { get; init; }

    public string? Executable { get; init => field = SecretRedactor.RedactOrNull(value); }

    public required double Start { get; init; }

    public double? End { get; init; }

    public required IReadOnlyList<string> Evidence { get; init => field = SecretRedactor.RedactLines(value); }

    /// <summary>
    /// The run context of the processes that fed it (<c>--context-env</c>: redacted <c>NAME=value</c>,
    /// distinct, at most 16): which RL run or episode caused it. The process's own text: never a key.
    /// </summary>
    public IReadOnlyList<string> Context { get; init => field = SecretRedactor.RedactLines(value); } = [];

    public Allowance? AllowedBy { get; init; }

    /// <summary>
    /// For rules that divert a GPU from its job (<see cref="PolicyRuleNames.Diverts"/>): GPU-seconds of
    /// this violation's own diverted work (its evidence seconds × the SM share of the work it is about),
    /// to its end, or to the tick that produced this record while open. Violations of one GPU can
    /// overlap; a job's total without double counting is <see cref="DivertedTime"/>'s.
    /// </summary>
    public double DivertedSeconds { get; init; }

    public bool IsAllowed => AllowedBy is not null;

    /// <summary>Seconds from start to end, or to <paramref name="now"/> while still open.</summary>
    public double DurationSeconds(double now) => Math.Max(0, (End ?? now) - Start);
}
