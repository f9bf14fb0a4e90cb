using GpuAudit.Core.Inspection;

namespace GpuAudit.Core.Policy;

/// <summary>
/// A rule that held long enough to open. <see cref="Pid"/> is null for GPU-wide rules (idle
/// allocation); <see cref="Job"/> is null when no job could be named. <see cref="End"/> is null
/// while open and is then the last second evidence was seen. <see cref="Evidence"/> is what
/// opened it. When <see cref="AllowedBy"/> is set this is an allowed finding, not a violation:
/// journalled and reported with the allowance's reason, never alerted on. The journal, reports and
/// OTLP all write violations: the text a watched process controls (executable, evidence) is
/// redacted whenever it is set.
/// </summary>
public sealed record Violation
{
    public required string Id { get; init; }

    public required PolicyRule Rule { get; init; }

    public Severity Severity => Rule.SeverityOf();

    public string? Node { get; init; }

    public required int Gpu { get; init; }

    public required string Uuid { get; init; }

    public int? Pid { get; init; }

    public string? Job { get; init; }

    public string? User { get; init; }

    public string? Executable { get; init => field = SecretRedactor.RedactOrNull(value); }

    public required double Start { get; init; }

    public double? End { get; init; }

    public required IReadOnlyList<string> Evidence { get; init => field = SecretRedactor.RedactLines(value); }

    public Allowance? AllowedBy { get; init; }

    public bool IsAllowed => AllowedBy is not null;

    /// <summary>Seconds from start to end, or to <paramref name="now"/> while still open.</summary>
    public double DurationSeconds(double now) => Math.Max(0, (End ?? now) - Start);
}
