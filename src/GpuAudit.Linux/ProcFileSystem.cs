using System.Globalization;

namespace GpuAudit.Linux;

/// <summary>
/// Reads a procfs tree (<c>/proc</c> on a node, a fixture directory in tests). Files that are
/// missing mean the process is gone; files that cannot be read are recorded in
/// <see cref="Unreadable"/> with the fix, so callers report partial pictures instead of failing.
/// Every file is read through <see cref="BoundedFile"/>: regular files only, non-blocking, and at
/// most <see cref="MaxBytes"/> of it (a process controls its cmdline, environ, maps and cgroup).
/// </summary>
public sealed class ProcFileSystem(string root = ProcFileSystem.DefaultRoot)
{
    public const string DefaultRoot = "/proc";

    public const string PrivilegeHint = "run as root or grant CAP_SYS_PTRACE";

    /// <summary>Bytes of /proc/PID/cmdline read; a longer command line is shown up to here.</summary>
    public const int MaxCommandLineBytes = 64 * 1024;

    /// <summary>Entries of /proc/PID/fd looked at (a process can hold a million descriptors).</summary>
    public const int MaxFileDescriptors = 65_536;

    // Caps per file: kernel-generated files are far smaller; the caps stop hostile content and
    // hostile fixture trees from costing memory and time. maps: 65530 mappings (vm.max_map_count)
    // of long paths; net/tcp: a namespace's sockets.
    private static readonly Dictionary<string, int> Caps = new(StringComparer.Ordinal)
    {
        ["cmdline"] = MaxCommandLineBytes,
        ["environ"] = 256 * 1024,
        ["stat"] = 4096,
        ["status"] = 16 * 1024,
        ["cgroup"] = 64 * 1024,
        ["maps"] = 16 << 20,
        ["net/tcp"] = 16 << 20,
        ["net/tcp6"] = 16 << 20,
    };

    private const int DefaultCap = 1 << 20;

    public string Root { get; } = root;

    public string PidPath(int pid, string name) => Path.Combine(Root, pid.ToString(CultureInfo.InvariantCulture), name);

    public bool Exists(int pid) => Directory.Exists(Path.Combine(Root, pid.ToString(CultureInfo.InvariantCulture)));

    /// <summary>Every numeric entry of the root: the pids.</summary>
    public IEnumerable<int> Pids()
    {
        if (!Directory.Exists(Root))
        {
            yield break;
        }

        foreach (var dir in Directory.EnumerateDirectories(Root))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                yield return pid;
            }
        }
    }

    /// <summary>The most bytes read of a file of this name.</summary>
    public static int MaxBytes(string name) => Caps.GetValueOrDefault(name, DefaultCap);

    /// <summary>The text of /proc/PID/NAME, or null when missing or unreadable (then noted in <paramref name="unreadable"/>).</summary>
    public string? ReadText(int pid, string name, ICollection<string>? unreadable = null) => ReadFile(PidPath(pid, name), MaxBytes(name), unreadable, out _);

    /// <summary>As <see cref="ReadText(int, string, ICollection{string}?)"/>, saying whether the file was longer than its cap.</summary>
    public string? ReadText(int pid, string name, ICollection<string>? unreadable, out bool truncated) => ReadFile(PidPath(pid, name), MaxBytes(name), unreadable, out truncated);

    /// <summary>The text of a file under the root (<c>stat</c>, <c>net/tcp</c>...).</summary>
    public string? ReadRootText(string relativePath, ICollection<string>? unreadable = null) => ReadFile(Path.Combine(Root, relativePath), DefaultCap, unreadable, out _);

    /// <summary>The target of the symlink /proc/PID/NAME (exe, fd/N), or null.</summary>
    public string? ReadLink(int pid, string name, ICollection<string>? unreadable = null)
    {
        var path = PidPath(pid, name);
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (UnauthorizedAccessException)
        {
            unreadable?.Add(Unreadable(path));
            return null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The entries of the directory /proc/PID/NAME (fd), or empty.</summary>
    public IReadOnlyList<string> List(int pid, string name, ICollection<string>? unreadable = null)
    {
        var path = PidPath(pid, name);
        try
        {
            if (!Directory.Exists(path))
            {
                return [];
            }

            var entries = Directory.EnumerateFileSystemEntries(path).Take(MaxFileDescriptors + 1).Select(Path.GetFileName).OfType<string>().ToList();
            if (entries.Count > MaxFileDescriptors)
            {
                entries.RemoveAt(entries.Count - 1);
                unreadable?.Add("truncated: " + path + " has more than " + MaxFileDescriptors.ToString(CultureInfo.InvariantCulture) + " entries; the rest were not checked");
            }

            return entries;
        }
        catch (UnauthorizedAccessException)
        {
            unreadable?.Add(Unreadable(path));
            return [];
        }
        catch (IOException)
        {
            return [];
        }
    }

    public static string Unreadable(string path) => "unreadable: " + path + " (" + PrivilegeHint + ")";

    private static string? ReadFile(string path, int maxBytes, ICollection<string>? unreadable, out bool truncated)
    {
        var outcome = BoundedFile.ReadText(path, maxBytes, out var text, out truncated);
        if (BoundedFile.Problem(path, outcome) is { } problem)
        {
            unreadable?.Add(problem);
        }

        return text;
    }
}
