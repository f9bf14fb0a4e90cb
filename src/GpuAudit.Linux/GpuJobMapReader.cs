using System.Globalization;
using GpuAudit.Core.Inspection;

namespace GpuAudit.Linux;

/// <summary>
/// Reads the GPU→job allocation files a scheduler prolog writes (jobstats style,
/// <c>/run/gpuaudit/jobmap//// <c>/run/gpustat/&lt;gpu&gt;</c>)lt;gpu/// <c>/run/gpustat/&lt;gpu&gt;</c>)gt;</c>, jobstats uses /run/gpustat): one file per GPU, named by its index or UUID, holding
/// "&lt;jobid&gt; &lt;uid&gt;". A GPU without a file is unallocated.
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

        return new JobRef(fields[0], "gpu-map", user);
    }
}
