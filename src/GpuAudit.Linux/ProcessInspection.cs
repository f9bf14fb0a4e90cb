using System.Net;
using GpuAudit.Core.Inspection;

namespace GpuAudit.Linux;

/// <summary>A process named in an inspection (the inspected one's ancestors and job tree).</summary>
public sealed record ProcessSummary(int Pid, int? ParentPid, string? Comm, string? Cmdline);

/// <summary>An established outbound TCP connection of a process in the inspected tree.</summary>
public sealed record OutboundConnection(int Pid, string? Comm, IPEndPoint Local, IPEndPoint Remote, bool PoolPort, bool? Allowlisted);

/// <summary>
/// Everything the inspector learnt about one process: identity, parent chain up to the job's root,
/// job/container/pod, GPU libraries, sockets of its tree, findings, and what it could not read.
/// </summary>
public sealed record ProcessInspection
{
    public required int Pid { get; init; }

    public string? Comm { get; init; }

    public string? Exe { get; init; }

    /// <summary>Redacted command line.</summary>
    public string? Cmdline { get; init; }

    public int? Uid { get; init; }

    public string? User { get; init; }

    public DateTimeOffset? StartTime { get; init; }

    /// <summary>Parents from the direct one up to the job's root process (same cgroup).</summary>
    public IReadOnlyList<ProcessSummary> ParentChain { get; init; } = [];

    public JobRef? Job { get; init; }

    public string? ContainerId { get; init; }

    public string? PodUid { get; init; }

    public string? Cgroup { get; init; }

    /// <summary>Basenames of GPU-related shared objects mapped by the process.</summary>
    public IReadOnlyList<string> GpuLibraries { get; init; } = [];

    public GpuLibraryFingerprint Libraries { get; init; } = GpuLibraryFingerprint.Of([]);

    /// <summary>Processes whose sockets and command lines were checked (the job tree, or the process and its descendants).</summary>
    public IReadOnlyList<ProcessSummary> Tree { get; init; } = [];

    public IReadOnlyList<OutboundConnection> Connections { get; init; } = [];

    public IReadOnlyList<ProcessFinding> Findings { get; init; } = [];

    /// <summary>The <c>--context-env</c> variables of its environment, redacted <c>NAME=value</c>.</summary>
    public IReadOnlyList<string> Context { get; init; } = [];

    /// <summary>"unreadable: PATH (run as root or grant CAP_SYS_PTRACE)" for each thing that could not be read.</summary>
    public IReadOnlyList<string> Unreadable { get; init; } = [];

    public ProcessInsight ToInsight() => new()
    {
        Pid = Pid,
        Comm = Comm,
        Uid = Uid,
        User = User,
        Job = Job,
        ContainerId = ContainerId,
        PodUid = PodUid,
        Findings = Findings,
        Context = Context,
    };

    /// <summary>This inspection with the findings of a GPU code scan added.</summary>
    public ProcessInspection WithScan(GpuCodeScanResult scan) => this with
    {
        Findings = [.. Findings, .. scan.Findings()],
        Unreadable = [.. Unreadable, .. scan.Unreadable],
    };
}
