using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Linux;

/// <summary>
/// Captures a GPU process's identity for trace <c>process</c> lines (<c>gpuaudit record</c>):
/// pid, parent, comm, exe, cmdline, cgroup text and GPU library basenames (all redacted).
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
            Comm = stat.Comm,
            Exe = proc.ReadLink(pid, "exe"),
            // Redacted as argv here (the record's own redaction only sees the joined text).
            Cmdline = commandLine.Redacted(),
            Cgroup = proc.ReadText(pid, "cgroup"),
            GpuLibs = inspector.GpuLibraries(pid, null),
        };
    }
}
