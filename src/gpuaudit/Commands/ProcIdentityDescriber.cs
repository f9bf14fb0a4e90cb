using GpuAudit.Core.Samples;

namespace GpuAudit.Cli.Commands;

/// <summary>
/// Stop-gap identity for <c>record</c> until GpuAudit.Linux's /proc describer is wired in: pid,
/// parent, comm, exe and cgroup only. The command line is left out on purpose: it can carry
/// secrets and only the full describer redacts it.
/// </summary>
internal sealed class ProcIdentityDescriber : IProcessDescriber
{
    public ProcessRecord? Describe(int pid)
    {
        var dir = "/proc/" + pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            var stat = File.ReadAllText(dir + "/stat");

            // comm is in parentheses and may itself contain ") ": the fields after the last ')' are fixed.
            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            var after = stat[(close + 2)..].Split(' ');
            return new ProcessRecord
            {
                Pid = pid,
                Comm = stat[(open + 1)..close],
                Ppid = int.Parse(after[1], System.Globalization.CultureInfo.InvariantCulture),
                Exe = TryReadLink(dir + "/exe"),
                Cgroup = TryRead(dir + "/cgroup"),
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static string? TryReadLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
