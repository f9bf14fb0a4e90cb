using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Linux;

/// <summary>
/// Captures a GPU process's identity for trace <c>process</c> lines and the pipeline: pid, parent,
/// start time, comm, exe, cmdline, cgroup text and GPU library basenames (all redacted). Runs on
/// the poll thread once per new process, so it reads only bounded files (stat, cmdline up to
/// 64 KiB, cgroup, maps) and parses them in linear time; the job tree, sockets and memory are the
/// background inspection's.
/// </summary>
public sealed class ProcProcessDescriber(string procRoot = ProcFileSystem.DefaultRoot) : IProcessDescriber
{
    private readonly ProcFileSystem proc = new(procRoot);
    private readonly ProcessInspector inspector = new(procRoot);

    public ProcessRecord? Describe(int pid)
    {
        if (proc.ReadText(pid, "stat") is not { } statText || ProcStat.TryParse(statText) is not { } stat)
        {
            return null;
        }

        var commandLine = inspector.ReadCommandLine(pid, null);
        return new ProcessRecord
        {
            Pid = pid,
            Ppid = stat.ParentPid,
            StartTicks = (long)stat.StartTicks,
            Comm = stat.Comm,
            Exe = proc.ReadLink(pid, "exe"),
            // Redacted as argv here (the record's own redaction only sees the joined text).
            Cmdline = commandLine.Redacted(),
            Cgroup = proc.ReadText(pid, "cgroup"),
            GpuLibs = inspector.GpuLibraries(pid, null),
        };
    }

    /// <summary>Start ticks from /proc/PID/stat alone (one read of at most 4 KiB): asked for every GPU process every poll.</summary>
    public long? StartTicks(int pid) =>
        proc.ReadText(pid, "stat") is { } statText && ProcStat.TryParse(statText) is { } stat ? (long)stat.StartTicks : null;
}
