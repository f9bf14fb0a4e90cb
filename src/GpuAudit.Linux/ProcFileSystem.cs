using System.Globalization;

namespace GpuAudit.Linux;

/// <summary>
/// Reads a procfs tree (<c>/proc</c> on a node, a fixture directory in tests). Files that are
/// missing mean the process is gone; files that cannot be read are recorded in
/// <see cref="Unreadable"/> with the fix, so callers report partial pictures instead of failing.
/// </summary>
public sealed class ProcFileSystem(string root = ProcFileSystem.DefaultRoot)
{
    public const string DefaultRoot = "/proc";

    public const string PrivilegeHint = "run as root or grant CAP_SYS_PTRACE";

    // Kernel files are small; the cap only stops a hostile or broken tree from exhausting memory.
    private const int MaxFileChars = 8 << 20;

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

    /// <summary>The text of /proc/PID/NAME, or null when missing or unreadable (then noted in <paramref name="unreadable"/>).</summary>
    public string? ReadText(int pid, string name, ICollection<string>? unreadable = null) => ReadFile(PidPath(pid, name), unreadable);

    /// <summary>The text of a file under the root (<c>stat</c>, <c>net/tcp</c>...).</summary>
    public string? ReadRootText(string relativePath, ICollection<string>? unreadable = null) => ReadFile(Path.Combine(Root, relativePath), unreadable);

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
            return Directory.Exists(path) ? Directory.GetFileSystemEntries(path).Select(Path.GetFileName).OfType<string>().ToList() : [];
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

    private static string? ReadFile(string path, ICollection<string>? unreadable)
    {
        try
        {
            using var reader = new StreamReader(path);
            var buffer = new char[64 * 1024];
            var text = new System.Text.StringBuilder();
            int read;
            while (text.Length < MaxFileChars && (read = reader.Read(buffer, 0, buffer.Length)) > 0)
            {
                text.Append(buffer, 0, read);
            }

            return text.ToString();
        }
        catch (UnauthorizedAccessException)
        {
            unreadable?.Add(Unreadable(path));
            return null;
        }
        catch (IOException)
        {
            // Gone (ENOENT, ESRCH) between listing and reading: not an error worth reporting.
            return null;
        }
    }
}
