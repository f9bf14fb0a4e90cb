using System.Globalization;
using System.Net;
using GpuAudit.Core.Inspection;

namespace GpuAudit.Linux;

/// <summary>
/// Builds the full picture of one process from procfs: identity, parent chain up to the job's
/// root, job (cgroup, then SLURM_JOB_ID), GPU libraries, the sockets and command lines of its
/// tree. Reads only; never stops the process. The GPU code scan is separate (<see cref="GpuCodeScanner"/>).
/// </summary>
public sealed class ProcessInspector
{
    // Linux reports start times in clock ticks; USER_HZ is 100 on every mainstream architecture.
    private const long ClockTicksPerSecond = 100;
    private const int MaxChainDepth = 64;
    private const int MaxTreeProcesses = 4096;

    private readonly ProcFileSystem proc;
    private readonly InspectorOptions options;
    private readonly PasswdFile users;
    private readonly SocketTableReader sockets;

    public ProcessInspector(string procRoot = ProcFileSystem.DefaultRoot, InspectorOptions? options = null)
    {
        proc = new ProcFileSystem(procRoot);
        this.options = options ?? new InspectorOptions();
        users = new PasswdFile(this.options.PasswdPath);
        sockets = new SocketTableReader(proc);
    }

    /// <summary>Inspects <paramref name="pid"/>; null when no such process exists (or it vanished mid-read).</summary>
    public ProcessInspection? Inspect(int pid)
    {
        var unreadable = new List<string>();
        if (!proc.Exists(pid) || proc.ReadText(pid, "stat", unreadable) is not { } statText || ProcStat.TryParse(statText) is not { } stat)
        {
            return null;
        }

        var cgroupText = proc.ReadText(pid, "cgroup", unreadable);
        var cgroup = CgroupIdentity.Parse(cgroupText);
        var job = cgroup.Job;

        // One bounded read of the environment, for a job claim and for the run context.
        var environ = job is null || options.ContextEnv.Count > 0 ? proc.ReadText(pid, "environ", unreadable) : null;
        if (job is null && environ is not null && ProcStat.SlurmJobId(environ) is { } slurmJob)
        {
            // The environment is the process's own claim: its text is redacted like any other.
            job = new JobRef(SecretRedactor.RedactText(slurmJob), "slurm-env");
        }

        var uid = proc.ReadText(pid, "status", unreadable) is { } status ? ProcStat.RealUid(status) : null;
        var user = uid is { } u ? users.Name(u) : null;
        if (job is not null && job.User is null)
        {
            job = job with { User = user };
        }

        var commandLine = ReadCommandLine(pid, unreadable);
        var argv = commandLine.Argv;
        var exe = proc.ReadLink(pid, "exe", unreadable);
        var libraries = GpuLibraries(pid, unreadable);

        // A miner's wrapper scripts pass the same pool login: its options are secrets in the whole tree.
        var minerContext = SecretRedactor.IsMinerCommandLine(argv) || MinerSignatures.IsMinerExecutable(exe) || MinerSignatures.IsMinerExecutable(stat.Comm);
        var chain = ParentChain(stat, cgroupText, minerContext);
        var tree = JobTree(pid, chain, hasJob: job is not null || cgroup.ContainerId is not null, minerContext);

        var findings = new List<ProcessFinding>();
        ProcessRecordAnalyzer.AddIdentityFindings(stat.Comm, exe, argv, findings);
        foreach (var lib in libraries.Where(MinerSignatures.IsMinerLibrary))
        {
            findings.Add(new ProcessFinding(FindingKind.MinerLibrary, lib + " is mapped"));
        }

        AddTreeTunnels(pid, chain.Concat(tree), findings, unreadable);
        var connections = Connections(tree, unreadable);
        AddConnectionFindings(connections, findings);

        return new ProcessInspection
        {
            Pid = pid,
            Comm = SecretRedactor.RedactText(stat.Comm),
            Exe = SecretRedactor.RedactOrNull(exe),
            Cmdline = commandLine.Redacted(minerContext),
            Uid = uid,
            User = user,
            StartTime = StartTime(stat),
            ParentChain = chain,
            Job = job,
            ContainerId = cgroup.ContainerId,
            PodUid = cgroup.PodUid,
            Cgroup = SecretRedactor.RedactOrNull(cgroupText?.Trim()),
            GpuLibraries = SecretRedactor.RedactLines(libraries),
            Libraries = GpuLibraryFingerprint.Of(libraries),
            Tree = tree,
            Connections = connections,
            Findings = findings,
            Context = RunContext.Capture(environ, options.ContextEnv),
            Unreadable = unreadable.Distinct().ToList(),
        };
    }

    /// <summary>The argv of a process from its NUL-separated cmdline, at most 64 KiB of it (empty for kernel threads).</summary>
    internal CommandLine ReadCommandLine(int pid, ICollection<string>? unreadable) =>
        CommandLine.Parse(proc.ReadText(pid, "cmdline", unreadable, out var truncated), truncated);

    /// <summary>Sorted, distinct basenames of the GPU-related shared objects the process maps.</summary>
    internal List<string> GpuLibraries(int pid, ICollection<string>? unreadable)
    {
        if (proc.ReadText(pid, "maps", unreadable) is not { } maps)
        {
            return [];
        }

        return MemoryRegion.ParseMaps(maps)
            .Where(r => r.FileBacked)
            .Select(r => Path.GetFileName(r.Path!))
            .Where(GpuLibraryFingerprint.IsGpuLibrary)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private DateTimeOffset? StartTime(ProcStat stat)
    {
        var bootLine = proc.ReadRootText("stat")?.Split('\n').FirstOrDefault(l => l.StartsWith("btime ", StringComparison.Ordinal));
        if (bootLine is null || !long.TryParse(bootLine.AsSpan(6).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var bootSeconds))
        {
            return null;
        }

        return DateTimeOffset.FromUnixTimeSeconds(bootSeconds).AddTicks((long)stat.StartTicks * (TimeSpan.TicksPerSecond / ClockTicksPerSecond));
    }

    /// <summary>
    /// Parents up to the job's root: the chain stops at the first ancestor in another cgroup (the
    /// job's or container's boundary), at pid 1, or after <see cref="MaxChainDepth"/> steps.
    /// </summary>
    private List<ProcessSummary> ParentChain(ProcStat start, string? cgroupText, bool minerContext)
    {
        var chain = new List<ProcessSummary>();
        var parent = start.ParentPid;
        var seen = new HashSet<int> { start.Pid };
        while (parent > 1 && chain.Count < MaxChainDepth && seen.Add(parent))
        {
            if (proc.ReadText(parent, "stat") is not { } text || ProcStat.TryParse(text) is not { } stat || proc.ReadText(parent, "cgroup") != cgroupText)
            {
                break;
            }

            chain.Add(Summary(stat, minerContext));
            parent = stat.ParentPid;
        }

        return chain;
    }

    /// <summary>
    /// The processes whose sockets are checked: every descendant of the job's root when the process
    /// belongs to a job or container, else the process and its own descendants (without a job
    /// boundary the root would be the whole machine).
    /// </summary>
    private List<ProcessSummary> JobTree(int pid, List<ProcessSummary> chain, bool hasJob, bool minerContext)
    {
        var root = hasJob && chain.Count > 0 ? chain[^1].Pid : pid;
        var stats = new Dictionary<int, ProcStat>();
        foreach (var candidate in proc.Pids())
        {
            if (proc.ReadText(candidate, "stat") is { } text && ProcStat.TryParse(text) is { } stat)
            {
                stats[candidate] = stat;
            }
        }

        var children = stats.Values.ToLookup(s => s.ParentPid);
        var tree = new List<ProcessSummary>();
        var queue = new Queue<int>([root]);
        var visited = new HashSet<int>();
        while (queue.Count > 0 && tree.Count < MaxTreeProcesses)
        {
            var next = queue.Dequeue();
            if (!visited.Add(next) || !stats.TryGetValue(next, out var stat))
            {
                continue;
            }

            tree.Add(Summary(stat, minerContext));
            foreach (var child in children[next].OrderBy(c => c.Pid))
            {
                queue.Enqueue(child.Pid);
            }
        }

        return tree;
    }

    private ProcessSummary Summary(ProcStat stat, bool minerContext) =>
        new(stat.Pid, stat.ParentPid, SecretRedactor.RedactText(stat.Comm), ReadCommandLine(stat.Pid, null).Redacted(minerContext));

    private void AddTreeTunnels(int pid, IEnumerable<ProcessSummary> processes, List<ProcessFinding> findings, ICollection<string> unreadable)
    {
        foreach (var process in processes.DistinctBy(p => p.Pid).Where(p => p.Pid != pid))
        {
            if (TunnelSignatures.Describe(ReadCommandLine(process.Pid, unreadable).Argv) is { } tunnel)
            {
                findings.Add(new ProcessFinding(FindingKind.Tunnel, tunnel + " (pid " + process.Pid.ToString(CultureInfo.InvariantCulture) + ")"));
            }
        }
    }

    private List<OutboundConnection> Connections(List<ProcessSummary> tree, ICollection<string> unreadable)
    {
        var connections = new List<OutboundConnection>();
        foreach (var process in tree)
        {
            var inodes = sockets.SocketInodes(process.Pid, unreadable);
            if (inodes.Count == 0)
            {
                continue;
            }

            var table = sockets.Table(process.Pid, unreadable);

            // Outbound: established, and the local port is not one this namespace listens on.
            var listening = table.Where(s => s.State == TcpSocketState.Listen).Select(s => s.Local.Port).ToHashSet();
            foreach (var socket in table)
            {
                if (socket.State == TcpSocketState.Established && inodes.Contains(socket.Inode) && !listening.Contains(socket.Local.Port))
                {
                    connections.Add(new OutboundConnection(
                        process.Pid,
                        process.Comm,
                        socket.Local,
                        socket.Remote,
                        options.PoolPorts.Contains(socket.Remote.Port),
                        options.EgressAllowlist.Count == 0 ? null : IsAllowlisted(socket.Remote.Address)));
                }
            }
        }

        return connections;
    }

    private bool IsAllowlisted(IPAddress address) =>
        IPAddress.IsLoopback(address) || options.EgressAllowlist.Any(n => n.Contains(address));

    private static void AddConnectionFindings(List<OutboundConnection> connections, List<ProcessFinding> findings)
    {
        foreach (var c in connections)
        {
            var who = " (" + c.Comm + ", pid " + c.Pid.ToString(CultureInfo.InvariantCulture) + ")";
            if (c.PoolPort)
            {
                findings.Add(new ProcessFinding(FindingKind.PoolPortConnection, "connected to " + c.Remote + ", a port pools commonly use" + who));
            }

            if (c.Allowlisted == false)
            {
                findings.Add(new ProcessFinding(FindingKind.NonAllowlistedEgress, "connected to " + c.Remote + ", outside the egress allowlist" + who));
            }
        }
    }
}
