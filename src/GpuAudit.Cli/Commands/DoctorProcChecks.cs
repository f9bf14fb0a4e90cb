using System.Globalization;
using GpuAudit.Core.Inspection;
using GpuAudit.Linux;

namespace GpuAudit.Cli.Commands;

/// <summary>
/// Can gpuaudit read what it needs of a process it did not start: environ (job ids), maps (GPU
/// libraries, code regions) and mem (the scan)? Tried on a real GPU process when NVML listed one,
/// else on a process of another user. Never pid 1: in containers and VMs even root may not read
/// it, which says nothing about GPU jobs.
/// </summary>
internal static class DoctorProcChecks
{
    private const string ProcFix = "run gpuaudit as root, or grant CAP_SYS_PTRACE (sudo setcap cap_sys_ptrace,cap_dac_read_search+ep $(command -v gpuaudit))";

    public static void Run(DoctorReport report, string procRoot, IReadOnlyCollection<int> gpuPids)
    {
        var proc = new ProcFileSystem(procRoot);
        if (ChooseTarget(proc, gpuPids) is not { } target)
        {
            report.Warn("no GPU process and no other user's process to try: /proc access is unchecked", "rerun gpuaudit doctor while a GPU job of another user runs");
            return;
        }

        report.Ok($"trying pid {target.Pid} ({target.Why})");
        foreach (var (file, purpose) in new[] { ("environ", "job ids from the environment"), ("maps", "GPU libraries and code regions"), ("mem", "memory scan for GPU code and hash constants") })
        {
            var path = proc.PidPath(target.Pid, file);
            var problem = file == "mem" ? TryReadMemory(proc, target.Pid) : TryRead(path);
            if (problem is null)
            {
                report.Ok($"{path} readable ({purpose})");
            }
            else
            {
                report.Fail($"{path} not readable ({problem}): no {purpose} for other users' processes", ProcFix);
            }
        }
    }

    /// <summary>A GPU process (not ours), else the first process owned by another user; never pid 1, never ourselves.</summary>
    private static (int Pid, string Why)? ChooseTarget(ProcFileSystem proc, IReadOnlyCollection<int> gpuPids)
    {
        var self = Environment.ProcessId;
        foreach (var pid in gpuPids.Order())
        {
            if (pid != self && pid != 1 && proc.Exists(pid))
            {
                return (pid, "a GPU process");
            }
        }

        var ours = ProcStat.RealUid(File.ReadAllText("/proc/self/status"));
        foreach (var pid in proc.Pids().Order())
        {
            if (pid == self || pid == 1 || proc.ReadText(pid, "status") is not { } status)
            {
                continue;
            }

            if (ProcStat.RealUid(status) is { } uid && uid != ours)
            {
                return (pid, "owned by uid " + uid.ToString(CultureInfo.InvariantCulture) + ", another user");
            }
        }

        return null;
    }

    /// <summary>Null when the file opens and yields its first byte (or is empty); else why not.</summary>
    private static string? TryRead(string path)
    {
        try
        {
            using var handle = File.OpenHandle(path);
            Span<byte> one = stackalloc byte[1];
            RandomAccess.Read(handle, one, 0);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e is UnauthorizedAccessException ? "permission denied" : e.Message;
        }
    }

    /// <summary>Reads one byte at the start of the process's first readable mapping: opening mem alone proves nothing.</summary>
    private static string? TryReadMemory(ProcFileSystem proc, int pid)
    {
        if (proc.ReadText(pid, "maps") is not { } maps)
        {
            return "its maps are unreadable, so no address to read";
        }

        foreach (var line in maps.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
            var dash = parts[0].IndexOf('-', StringComparison.Ordinal);
            if (parts.Length < 2 || parts[1].Length == 0 || parts[1][0] != 'r' || dash <= 0
                || !long.TryParse(parts[0].AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var start) || start < 0)
            {
                continue;
            }

            try
            {
                using var handle = File.OpenHandle(proc.PidPath(pid, "mem"));
                Span<byte> one = stackalloc byte[1];
                return RandomAccess.Read(handle, one, start) == 1 ? null : $"nothing read at 0x{start:x}";
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return e is UnauthorizedAccessException ? "permission denied" : e.Message;
            }
        }

        return "no readable mapping to try (a kernel thread?)";
    }
}
