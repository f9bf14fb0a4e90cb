using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Inspection;

/// <summary>
/// Everything the auditor knows about one GPU process: the one model of it, built by
/// <see cref="ProcessAnalyzer"/> from its <see cref="Identity"/> — read from /proc on a live node,
/// or from a trace's <c>process</c> line on replay — with the same rules either way. A live
/// inspection adds what only /proc can tell (user, start time, parents, the job's process tree and
/// its connections, what could not be read) and, later, the background GPU code scan's findings.
/// </summary>
public sealed record ProcessInsight
{
    /// <summary>Identity as captured when the process was first seen (what a trace <c>process</c> line holds).</summary>
    public required ProcessRecord Identity { get; init; }

    public int Pid => Identity.Pid;

    public string? Comm => Identity.Comm;

    public int? Uid { get; init; }

    public string? User { get; init; }

    public DateTimeOffset? StartTime { get; init; }

    /// <summary>The job named by the process's own cgroup or environment (not the GPU map).</summary>
    public JobRef? Job { get; init; }

    public string? ContainerId { get; init; }

    public string? PodUid { get; init; }

    /// <summary>What the mapped GPU libraries say: ML frameworks, NVRTC without one, miner plug-ins.</summary>
    public GpuLibraryFingerprint Libraries { get; init; } = GpuLibraryFingerprint.Of([]);

    /// <summary>Parents from the direct one up to the job's root process (same cgroup); live only.</summary>
    public IReadOnlyList<ProcessRecord> ParentChain { get; init; } = [];

    /// <summary>Processes whose sockets and command lines were checked (the job tree); live only.</summary>
    public IReadOnlyList<ProcessRecord> Tree { get; init; } = [];

    public IReadOnlyList<OutboundConnection> Connections { get; init; } = [];

    public IReadOnlyList<ProcessFinding> Findings { get; init; } = [];

    /// <summary>The run it belongs to: the <c>--context-env</c> variables of its environment, redacted <c>NAME=value</c> (<see cref="RunContext"/>).</summary>
    public IReadOnlyList<string> Context { get; init; } = [];

    /// <summary>"unreadable: PATH (run as root or grant CAP_SYS_PTRACE)" for each thing that could not be read.</summary>
    public IReadOnlyList<string> Unreadable { get; init; } = [];

    /// <summary>This insight with more evidence (a GPU code scan's findings and what it could not read).</summary>
    public ProcessInsight With(IReadOnlyList<ProcessFinding> findings, IReadOnlyList<string> unreadable) =>
        findings.Count == 0 && unreadable.Count == 0 ? this : this with
        {
            Findings = [.. Findings, .. findings],
            Unreadable = [.. Unreadable, .. unreadable],
        };

    /// <summary>What the kernel ledger saw the process launch (live node with the ledger on; null otherwise).</summary>
    public Kernels.ProcessKernels? Kernels { get; init; }
}
