using System.Globalization;

namespace GpuAudit.Core.Inspection;

/// <summary>The fields of /proc/PID/stat the inspector uses: comm, parent pid and start time.</summary>
public sealed record ProcStat(int Pid, string Comm, int ParentPid, ulong StartTicks)
{
    /// <summary>
    /// Parses /proc/PID/stat. The comm sits between the first '(' and the LAST ')' because a
    /// process can put ')' and spaces in its own name.
    /// </summary>
    public static ProcStat? TryParse(string text)
    {
        var open = text.IndexOf('(', StringComparison.Ordinal);
        var close = text.LastIndexOf(')');
        if (open <= 0 || close < open || !int.TryParse(text.AsSpan(0, open).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return null;
        }

        // After ") ": state(3) ppid(4) ... starttime(22): the 20th field after the comm.
        var rest = text.AsSpan(close + 1);
        Span<Range> fields = stackalloc Range[21];
        var count = rest.Split(fields, ' ', StringSplitOptions.RemoveEmptyEntries);
        if (count < 20
            || !int.TryParse(rest[fields[1]], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ppid)
            || !ulong.TryParse(rest[fields[19]], NumberStyles.None, CultureInfo.InvariantCulture, out var start))
        {
            return null;
        }

        return new ProcStat(pid, text[(open + 1)..close], ppid, start);
    }

    /// <summary>The real uid from /proc/PID/status ("Uid:\treal\teffective\tsaved\tfs").</summary>
    public static int? RealUid(string statusText) => StatusNumber(statusText, "Uid:");

    /// <summary>
    /// The value of SLURM_JOB_ID in NUL-separated /proc/PID/environ text; null when absent or longer
    /// than any job id (64 characters, as the job map allows): the environment is the process's own claim.
    /// </summary>
    public static string? SlurmJobId(string environ)
    {
        foreach (var entry in environ.Split('\0'))
        {
            if (entry.StartsWith("SLURM_JOB_ID=", StringComparison.Ordinal) && entry.Length is > 13 and <= 13 + 64)
            {
                return entry[13..];
            }
        }

        return null;
    }

    private static int? StatusNumber(string statusText, string key)
    {
        foreach (var line in statusText.AsSpan().EnumerateLines())
        {
            if (!line.StartsWith(key, StringComparison.Ordinal))
            {
                continue;
            }

            var value = line[key.Length..].TrimStart();
            var end = value.IndexOfAny(' ', '\t');
            return int.TryParse(end < 0 ? value : value[..end], NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : null;
        }

        return null;
    }
}
