using GpuAudit.Core.Inspection;
using GpuAudit.Linux;

namespace GpuAudit.Agent.Pipeline;

/// <summary>
/// The scheduler's GPU→job map from a directory of files (one per GPU, "<jobid> <uid>"), read
/// again at most every <c>refresh</c>: a Slurm prolog writes it when a job starts, the epilog
/// removes it when it ends, and the auditor must follow without a restart.
/// </summary>
public sealed class FileJobMap(GpuJobMapReader reader, TimeProvider time, TimeSpan refresh) : IGpuJobMap
{
    private IReadOnlyDictionary<string, JobRef> _map = new Dictionary<string, JobRef>();
    private long _readAt = long.MinValue;

    public JobRef? JobFor(GpuDevice gpu)
    {
        var now = time.GetTimestamp();
        if (_readAt == long.MinValue || time.GetElapsedTime(_readAt, now) >= refresh)
        {
            _map = reader.Read();
            _readAt = now;
        }

        return GpuJobMapReader.For(_map, gpu.Index, gpu.Uuid);
    }
}
