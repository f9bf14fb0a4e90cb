using System.Globalization;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Policy;

namespace GpuAudit.Linux;

/// <summary>
/// Reads the GPU→job allocation files a scheduler prolog writes (jobstats style,
/// <c>/run/gpuaudit/jobmap/&lt;gpu&gt;</c>; jobstats uses <c>/run/gpustat</c>): one file per GPU, named by its index or UUID, holding
/// "&lt;jobid&gt; &lt;uid&gt;", optionally followed by <c>purpose=</c>, <c>partition=</c> and
/// <c>account=</c> fields (deploy/slurm/gpuaudit-prolog.sh). A GPU without a file is unallocated.
/// </summary>
public sealed class GpuJobMapReader(string directory = GpuJobMapReader.DefaultDirectory, PasswdFile? users = null)
{
    public const string DefaultDirectory = "/run/gpuaudit/jobmap";

    private const int MaxFileBytes = 4096;

    public string Directory { get; } = directory;

    /// <summary>GPU (file name: index or UUID) → job. Missing directory: empty map. Malformed files are skipped.</summary>
    public IReadOnlyDictionary<string, JobRef> Read()
    {
        var map = new Dictionary<string, JobRef>(StringComparer.OrdinalIgnoreCase);
        if (!System.IO.Directory.Exists(Directory))
        {
            return map;
        }

        foreach (var file in System.IO.Directory.EnumerateFiles(Directory))
        {
            if (TryReadFile(file) is { } job)
            {
                map[Path.GetFileName(file)] = job;
            }
        }

        return map;
    }

    /// <summary>The job of one GPU, looked up by UUID first, then by index.</summary>
    public static JobRef? For(IReadOnlyDictionary<string, JobRef> map, int index, string? uuid) =>
        (uuid is not null ? map.GetValueOrDefault(uuid) : null) ?? map.GetValueOrDefault(index.ToString(CultureInfo.InvariantCulture));

    private JobRef? TryReadFile(string file)
    {
        // A FIFO or a huge file dropped into the directory must not hang or bloat the poll.
        if (BoundedFile.ReadText(file, MaxFileBytes, out var text, out _) != FileReadOutcome.Read || text is null)
        {
            return null;
        }

        var fields = text.Split((char[])[' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length == 0 || fields[0].Length > 64)
        {
            return null;
        }

        string? user = null;
        if (fields.Length > 1 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
        {
            user = users?.Name(uid) ?? fields[1];
        }

        var job = new JobRef(fields[0], JobSources.GpuMap, user);
        for (var i = 2; i < fields.Length; i++)
        {
            job = WithField(job, fields[i]);
        }

        return job;
    }

    // Optional "key=value" fields the prolog adds; an unknown key or a malformed value is left out,
    // so a newer prolog never breaks an older agent.
    private static JobRef WithField(JobRef job, string field)
    {
        var eq = field.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0 || eq == field.Length - 1 || field.Length - eq - 1 > 64)
        {
            return job;
        }

        var value = field[(eq + 1)..];
        return field[..eq] switch
        {
            "purpose" when JobPurposes.TryParse(value, out var purpose) => job with { Purpose = purpose },
            "partition" => job with { Partition = value },
            "account" => job with { Account = value },
            _ => job,
        };
    }
}
