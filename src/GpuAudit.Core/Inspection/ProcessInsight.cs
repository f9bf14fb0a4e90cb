namespace GpuAudit.Core.Inspection;

/// <summary>
/// What the auditor knows about a GPU process beyond its counters: who runs it, for which job,
/// and the evidence found in its identity, libraries, GPU code and sockets. Built from /proc on a
/// live node, or from a trace's <c>process</c> line on replay.
/// </summary>
public sealed record ProcessInsight
{
    public required int Pid { get; init; }

    public string? Comm { get; init; }

    public int? Uid { get; init; }

    public string? User { get; init; }

    /// <summary>The job named by the process's own cgroup or environment (not the GPU map).</summary>
    public JobRef? Job { get; init; }

    public string? ContainerId { get; init; }

    public string? PodUid { get; init; }

    public IReadOnlyList<ProcessFinding> Findings { get; init; } = [];

    /// <summary>The run it belongs to: the <c>--context-env</c> variables of its environment, redacted <c>NAME=value</c> (<see cref="RunContext"/>).</summary>
    public IReadOnlyList<string> Context { get; init; } = [];
}
