using GpuAudit.Core.Samples;

namespace GpuAudit.Agent.Exporters;

/// <summary>
/// Compares (GPU uuid, pid) keys without hashing the uuid's 40 characters: the exporter looks up
/// every process of every GPU several times a poll, and the default string hash (Marvin, over the
/// whole string) was most of that cost. The pid and the uuid's length and last characters
/// (<see cref="GpuUuidComparer.Tail"/>, shared with the Core's per-tick keys) spread the keys as
/// well: the pids of one GPU are distinct, and GPU uuids differ in their random tail. Equality
/// still compares the whole uuid (by reference first: a poll's uuids are its devices').
/// </summary>
internal sealed class GpuProcessKeyComparer : IEqualityComparer<(string Uuid, int Pid)>
{
    public static readonly GpuProcessKeyComparer Instance = new();

    public bool Equals((string Uuid, int Pid) x, (string Uuid, int Pid) y) => x.Pid == y.Pid && string.Equals(x.Uuid, y.Uuid, StringComparison.Ordinal);

    public int GetHashCode((string Uuid, int Pid) key) => HashCode.Combine(key.Pid, GpuUuidComparer.Tail(key.Uuid));
}
