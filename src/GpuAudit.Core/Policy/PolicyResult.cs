namespace GpuAudit.Core.Policy;

/// <summary>
/// What one tick changed: violations (and allowed findings) that opened or closed, and every one
/// open after the tick. Journal <see cref="Opened"/> before exporting it.
/// </summary>
public sealed record PolicyResult(IReadOnlyList<Violation> Opened, IReadOnlyList<Violation> Closed, IReadOnlyList<Violation> Active)
{
    /// <summary>Nothing open, nothing changed.</summary>
    public static PolicyResult None { get; } = new([], [], []);

    /// <summary>True when the tick opened or closed something (what the journal and the log exporters act on).</summary>
    public bool HasChanges => Opened.Count > 0 || Closed.Count > 0;

    /// <summary>GPU-seconds diverted that this tick adds, per GPU and job (<see cref="DivertedTime"/>).</summary>
    public IReadOnlyList<DivertedSeconds> Diverted { get; init; } = [];
}
