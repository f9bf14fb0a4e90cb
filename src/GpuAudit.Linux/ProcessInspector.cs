using System.Globalization;
using System.Net;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Linux;

/// <summary>
/// Builds the full picture of one process from procfs: its identity (what a trace <c>process</c>
/// line holds), analysed by the same rules as a replayed one (<see cref="ProcessAnalyzer"/>), then
/// what only a live node can tell: uid and user, start time, the job from SLURM_JOB_ID when the
/// cgroup names none, the parent chain up to the job's root, the sockets and command lines of its
/// tree. Reads only; never stops the process. The GPU code scan is separate (<see cref="GpuCodeScanner"/>).
/// </summary>
public sealed class ProcessInspector : IProcessDescriber
{
    // Linux reports start times in clock ticks; USER_HZ is 100 on every mainstream architecture.
    private const uint ClockTicksPerSecond = 100;
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

    /// <summary>
    /// The identity alone (for trace <c>process</c> lines and the pipeline); null when no such process
    /// exists. Runs on the poll thread once per new process: bounded files (stat, cmdline up to 64 KiB,
    /// exe, cgroup, maps), parsed in linear time; the tree, sockets and memory are the background's.
    /// </summary>
    public ProcessRecord? Describe(int pid) => ReadIdentity(pid, null)?.Identity;

    /// <summary>Start ticks from /proc/PID/stat alone (one read of at most 4 KiB): asked for every GPU process every poll.</summary>
    public long? StartTicks(int pid) =>
        proc.ReadText(pid, "stat") is { } statText && ProcStat.TryParse(statText) is { } stat ? (long)stat.StartTicks : null;

    /// <summary>Inspects <paramref name="pid"/>; null when no such process exists (or it vanished mid-read).</summary>
    public ProcessInsight? Inspect(int pid)
    {
        var unreadable = new List<string>();
        if (ReadIdentity(pid, unreadable) is not { } read)
        {
            return null;
        }

        var (stat, identity, raw) = read;
        var insight = ProcessAnalyzer.Analyze(identity, raw);
        var job = insight.Job;

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

        // A miner's wrapper scripts pass the same pool login: its options are secrets in the whole tree.
        var minerContext = MinerContext(raw);
        var chain = ParentChain(stat, raw.Cgroup, minerContext);
        var tree = JobTree(pid, chain, hasJob: job is not null || insight.ContainerId is not null, minerContext);
        var findings = new List<ProcessFinding>(insight.Findings);
        AddTreeTunnels(pid, chain.Concat(tree), findings, unreadable);
        var connections = Connections(tree, unreadable);
        AddConnectionFindings(connections, findings);

        return insight with
        {
            Uid = uid,
            User = user,
            StartTime = StartTime(stat),
            Job = job,
            ParentChain = chain,
            Tree = tree,
            Connections = connections,
            Findings = findings,
            Context = RunContext.Capture(environ, options.ContextEnv),
            Unreadable = unreadable.Distinct().ToList(),
        };
    }

    /// <summary>
    /// stat, cgroup, cmdline, exe and maps: the identity a trace records (redacted, as every
    /// <see cref="ProcessRecord"/> is) and what /proc said before redaction, which the rules read.
    /// </summary>
    private (ProcStat Stat, ProcessRecord Identity, RawIdentity Raw)? ReadIdentity(int pid, List<string>? unreadable)
    {
        if (!proc.Exists(pid) || proc.ReadText(pid, "stat", unreadable) is not { } statText || ProcStat.TryParse(statText) is not { } stat)
        {
            return null;
        }

        var commandLine = ReadCommandLine(pid, unreadable);
        var raw = new RawIdentity(stat.Comm, proc.ReadLink(pid, "exe", unreadable), commandLine.Argv, proc.ReadText(pid, "cgroup", unreadable), GpuLibraries(pid, unreadable));
        var identity = new ProcessRecord
        {
            Pid = pid,
            Ppid = stat.ParentPid,
            StartTicks = (long)stat.StartTicks,
            Comm = raw.Comm,
            Exe = raw.Exe,
            Cmdline = commandLine.Redacted(MinerContext(raw)),
            Cgroup = raw.Cgroup,
            GpuLibs = raw.GpuLibs,
        };
        return (stat, identity, raw);
    }

    private static bool MinerContext(RawIdentity raw) =>
        SecretRedactor.IsMinerCommandLine(raw.Argv) || MinerSignatures.IsMinerExecutable(raw.Exe) || MinerSignatures.IsMinerExecutable(raw.Comm);

    /// <summary>The argv of a process from its NUL-separated cmdline, at most 64 KiB of it (empty for kernel threads).</summary>
    private CommandLine ReadCommandLine(int pid, ICollection<string>? unreadable) =>
        CommandLine.Parse(proc.ReadText(pid, "cmdline", unreadable, out var truncated), truncated);

    /// <summary>Sorted, distinct basenames of the GPU-related shared objects the process maps.</summary>
    private List<string> GpuLibraries(int pid, ICollection<string>? unreadable)
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

        // A forged tree can name any boot time and start: outside a thousand years, no time at all.
        const long MaxSeconds = 1000L * 366 * 86400;
        if (bootSeconds > MaxSeconds || stat.StartTicks / ClockTicksPerSecond > MaxSeconds)
        {
            return null;
        }

        return DateTimeOffset.FromUnixTimeSeconds(bootSeconds).AddTicks((long)stat.StartTicks * (TimeSpan.TicksPerSecond / ClockTicksPerSecond));
    }

    /// <summary>
    /// Parents up to the job's root: the chain stops at the first ancestor in another cgroup (the
    /// job's or container's boundary), at pid 1, or after <see cref="MaxChainDepth"/> steps.
    /// </summary>
    private List<ProcessRecord> ParentChain(ProcStat start, string? cgroupText, bool minerContext)
    {
        var chain = new List<ProcessRecord>();
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
    private List<ProcessRecord> JobTree(int pid, List<ProcessRecord> chain, bool hasJob, bool minerContext)
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
        var tree = new List<ProcessRecord>();
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

    private ProcessRecord Summary(ProcStat stat, bool minerContext) => new()
    {
        Pid = stat.Pid,
        Ppid = stat.ParentPid,
        StartTicks = (long)stat.StartTicks,
        Comm = stat.Comm,
        Cmdline = ReadCommandLine(stat.Pid, null).Redacted(minerContext),
    };

    private void AddTreeTunnels(int pid, IEnumerable<ProcessRecord> processes, List<ProcessFinding> findings, ICollection<string> unreadable)
    {
        foreach (var process in processes.DistinctBy(p => p.Pid).Where(p => p.Pid != pid))
        {
            if (TunnelSignatures.Describe(ReadCommandLine(process.Pid, unreadable).Argv) is { } tunnel)
            {
                findings.Add(new ProcessFinding(FindingKind.Tunnel, tunnel + " (pid " + process.Pid.ToString(CultureInfo.InvariantCulture) + ")"));
            }
        }
    }

    private List<OutboundConnection> Connections(List<ProcessRecord> tree, ICollection<string> unreadable)
    {
        var connections = new List<OutboundConnection>();

        // Processes of one network namespace share one table: read it once per inspection (a tree of
        // thousands of processes over a namespace with a hundred thousand sockets would otherwise read
        // gigabytes).
        var tables = new Dictionary<string, IReadOnlyList<TcpSocket>>(StringComparer.Ordinal);
        foreach (var process in tree)
        {
            var inodes = sockets.SocketInodes(process.Pid, unreadable);
            if (inodes.Count == 0)
            {
                continue;
            }

            var table = proc.ReadLink(process.Pid, "ns/net") is { } ns
                ? tables.TryGetValue(ns, out var shared) ? shared : tables[ns] = sockets.Table(process.Pid, unreadable)
                : sockets.Table(process.Pid, unreadable);

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
