using System.Runtime.InteropServices;

namespace GpuAudit.Core.Samples;

/// <summary>
/// Compares GPU uuids without hashing all their characters: the per-tick paths look a uuid up once
/// per process of every GPU, and the default string hash (Marvin, over the whole 40 characters) was
/// a visible share of their cost. The last four characters spread GPU uuids as well (their tail is
/// random; a MIG instance's differs in its instance ids). Equality still compares the whole uuid
/// (by reference first: a tick's uuids are its devices').
/// </summary>
public sealed class GpuUuidComparer : IEqualityComparer<string>
{
    public static readonly GpuUuidComparer Instance = new();

    public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

    public int GetHashCode(string uuid) => Tail(uuid);

    /// <summary>The hash of <paramref name="uuid"/>'s last four characters (the whole string when shorter), for keys that hold a uuid.</summary>
    public static int Tail(string uuid) =>
        uuid.Length < 4
            ? string.GetHashCode(uuid, StringComparison.Ordinal)
            // The four UTF-16 characters read as one 64-bit value: one load instead of a loop.
            : MemoryMarshal.Read<long>(MemoryMarshal.AsBytes(uuid.AsSpan(uuid.Length - 4))).GetHashCode();
}
