using System.Globalization;
using GpuAudit.Core.Inspection;
using GpuAudit.Linux;

namespace GpuAudit.Ebpf;

/// <summary>
/// A libcuda file one process maps, identified as the kernel identifies it for uprobes: by device
/// and inode (a container's bind-mounted host driver is the same file; its own copy is another).
/// </summary>
public sealed record LibcudaFile(string Device, ulong Inode, string PathInProcess, int Pid, ulong Start, ulong End)
{
    public string Key => Device + ":" + Inode.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Paths through which this process's file can be opened from here, best first:
    /// /proc/PID/map_files/… is the mapped file itself (no path race, works when it was deleted or
    /// lives in another mount namespace; needs CAP_SYS_ADMIN), /proc/PID/root/… its path as the
    /// process sees it.
    /// </summary>
    public IEnumerable<string> AttachPaths(string procRoot)
    {
        var pid = Pid.ToString(CultureInfo.InvariantCulture);
        yield return Path.Combine(procRoot, pid, "map_files", Start.ToString("x", CultureInfo.InvariantCulture) + "-" + End.ToString("x", CultureInfo.InvariantCulture));
        if (!PathInProcess.EndsWith(" (deleted)", StringComparison.Ordinal))
        {
            yield return Path.Combine(procRoot, pid, "root") + PathInProcess;
        }
    }

    /// <summary>The distinct libcuda files a process maps, from its /proc/PID/maps text.</summary>
    public static IReadOnlyList<LibcudaFile> InMaps(int pid, string mapsText)
    {
        var files = new Dictionary<string, LibcudaFile>(StringComparer.Ordinal);
        foreach (var line in mapsText.AsSpan().EnumerateLines())
        {
            // Cheap filter first: most lines of a PyTorch process are not libcuda.
            if (line.IndexOf("libcuda.so", StringComparison.Ordinal) < 0 || MemoryRegion.TryParseLine(line) is not { FileBacked: true } region)
            {
                continue;
            }

            if (!IsLibcuda(region.Path!))
            {
                continue;
            }

            var file = new LibcudaFile(region.Device, region.Inode, region.Path!, pid, region.Start, region.End);
            files.TryAdd(file.Key, file);
        }

        return [.. files.Values];
    }

    /// <summary>libcuda.so, libcuda.so.1, libcuda.so.550.54.15 (not libcudart, libcudnn...).</summary>
    public static bool IsLibcuda(string path)
    {
        var name = Path.GetFileName(path.EndsWith(" (deleted)", StringComparison.Ordinal) ? path[..^10] : path);
        return name == "libcuda.so" || name.StartsWith("libcuda.so.", StringComparison.Ordinal);
    }

    /// <summary>The libcuda files of <paramref name="pid"/>, read through <paramref name="proc"/>; empty when it is gone or unreadable.</summary>
    public static IReadOnlyList<LibcudaFile> Of(ProcFileSystem proc, int pid) =>
        proc.ReadText(pid, "maps") is { } maps ? InMaps(pid, maps) : [];
}
