using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Summaries;

/// <summary>
/// Keys of <see cref="MinuteSummarizer"/>'s accumulators, looked up once per GPU and once per process
/// of every GPU at every tick: hashed on the pid, the minute and the uuid's tail
/// (<see cref="GpuUuidComparer.Tail"/>) instead of the whole 40-character uuid; equality is the
/// default one (ordinal strings, <see cref="double.Equals(double)"/> minutes). <see cref="HashCode"/>
/// is seeded per process, so pids a workload picks cannot aim at one bucket. Dictionary order does
/// not depend on the comparer, so <see cref="MinuteSummarizer"/> hands rows out in the same order.
/// </summary>
internal sealed class ProcessMinuteKeyComparer : IEqualityComparer<(string Uuid, int Pid, double Minute)>
{
    public static readonly ProcessMinuteKeyComparer Instance = new();

    public bool Equals((string Uuid, int Pid, double Minute) x, (string Uuid, int Pid, double Minute) y) =>
        x.Pid == y.Pid && x.Minute.Equals(y.Minute) && string.Equals(x.Uuid, y.Uuid, StringComparison.Ordinal);

    public int GetHashCode((string Uuid, int Pid, double Minute) key) => HashCode.Combine(key.Pid, key.Minute, GpuUuidComparer.Tail(key.Uuid));
}

/// <inheritdoc cref="ProcessMinuteKeyComparer"/>
internal sealed class GpuMinuteKeyComparer : IEqualityComparer<(string Uuid, double Minute)>
{
    public static readonly GpuMinuteKeyComparer Instance = new();

    public bool Equals((string Uuid, double Minute) x, (string Uuid, double Minute) y) =>
        x.Minute.Equals(y.Minute) && string.Equals(x.Uuid, y.Uuid, StringComparison.Ordinal);

    public int GetHashCode((string Uuid, double Minute) key) => HashCode.Combine(key.Minute, GpuUuidComparer.Tail(key.Uuid));
}

/// <summary>As <see cref="ProcessMinuteKeyComparer"/>; the job id is compared, and hashed by its length only (a GPU has one job at a time).</summary>
internal sealed class JobMinuteKeyComparer : IEqualityComparer<(string Job, string Uuid, double Minute)>
{
    public static readonly JobMinuteKeyComparer Instance = new();

    public bool Equals((string Job, string Uuid, double Minute) x, (string Job, string Uuid, double Minute) y) =>
        x.Minute.Equals(y.Minute) && string.Equals(x.Uuid, y.Uuid, StringComparison.Ordinal) && string.Equals(x.Job, y.Job, StringComparison.Ordinal);

    public int GetHashCode((string Job, string Uuid, double Minute) key) => HashCode.Combine(key.Job.Length, key.Minute, GpuUuidComparer.Tail(key.Uuid));
}
