using System.Diagnostics;
using System.Globalization;

namespace GpuAudit.Cli.Tests;

/// <summary>
/// A live process with a crafted argv (argv[0] included, through bash's <c>exec -a</c>), or a tree of
/// them, that sleeps until the test kills it (with every descendant). Its /proc/PID/cmdline is
/// exactly <c>argv[0], "-c", "sleep 600; exit 0", argv[1..]</c>.
/// </summary>
internal sealed class LiveProcess : IDisposable
{
    private const string Sleep = "sleep 600; exit 0";

    // Each file in $CHILDREN holds one child's argv, NUL-separated; the children are this shell's.
    private const string TreeScript = """
        for f in "$CHILDREN"/child-*; do
          mapfile -d '' a < "$f"
          ( exec -a "${a[0]}" bash -c 'sleep 600; exit 0' "${a[@]:1}" ) &
        done
        wait
        """;

    private readonly Process _process;

    private LiveProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public string PidText => Pid.ToString(CultureInfo.InvariantCulture);

    /// <summary>One process whose argv is <paramref name="argv"/> (plus the shell's "-c" and script after argv[0]).</summary>
    public static LiveProcess Start(IReadOnlyList<string> argv)
    {
        var start = new ProcessStartInfo("bash") { ArgumentList = { "-c", "exec -a \"$0\" bash -c '" + Sleep + "' \"$@\"" } };
        foreach (var arg in argv)
        {
            start.ArgumentList.Add(arg);
        }

        return new LiveProcess(Process.Start(start)!);
    }

    /// <summary>A root process (argv: bash -c SCRIPT <paramref name="rootArgv"/>) whose children have the given argvs.</summary>
    public static LiveProcess StartTree(string directory, IReadOnlyList<string> rootArgv, IReadOnlyList<IReadOnlyList<string>> children)
    {
        var dir = Directory.CreateDirectory(Path.Combine(directory, "children")).FullName;
        for (var i = 0; i < children.Count; i++)
        {
            File.WriteAllText(Path.Combine(dir, "child-" + i.ToString("D2", CultureInfo.InvariantCulture)), string.Join('\0', children[i]) + "\0");
        }

        var start = new ProcessStartInfo("bash") { ArgumentList = { "-c", TreeScript }, Environment = { ["CHILDREN"] = dir } };
        foreach (var arg in rootArgv)
        {
            start.ArgumentList.Add(arg);
        }

        return new LiveProcess(Process.Start(start)!);
    }

    /// <summary>The argv of a live process, from /proc.</summary>
    public static string[] Argv(int pid) =>
        File.ReadAllText("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Children of this process (pid, argv), read from /proc.</summary>
    public List<(int Pid, string[] Argv)> Children()
    {
        var children = new List<(int, string[])>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], CultureInfo.InvariantCulture) == Pid)
                {
                    children.Add((pid, Argv(pid)));
                }
            }
            catch (IOException)
            {
                // Exited while listed.
            }
        }

        return children;
    }

    /// <summary>Waits until the process has <paramref name="count"/> children with their final argv (after exec).</summary>
    public List<(int Pid, string[] Argv)> WaitForChildren(int count, Func<string[], bool> ready)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < until)
        {
            var children = Children();
            if (children.Count >= count && children.All(c => ready(c.Argv)))
            {
                return children;
            }

            Thread.Sleep(50);
        }

        throw new TimeoutException("the process tree did not start: " + string.Join(" | ", Children().Select(c => string.Join(' ', c.Argv))));
    }

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }
}
