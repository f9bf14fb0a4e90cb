using System.Globalization;

namespace GpuAudit.Linux.Tests;

/// <summary>
/// A fake procfs in a temp directory for the GPU code scanner: each pid has a <c>maps</c> file and a
/// <c>mem</c> that is a sparse plain file whose offsets are the addresses of those maps.
/// </summary>
internal sealed class FakeMemoryProcfs : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("procfs").FullName;

    /// <summary>Adds <paramref name="pid"/> with these <paramref name="maps"/> lines, <paramref name="memoryBytes"/> of memory and the given bytes at their addresses.</summary>
    public void AddProcess(int pid, string maps, long memoryBytes, IEnumerable<(ulong Address, byte[] Bytes)> contents)
    {
        var dir = Directory.CreateDirectory(Path.Combine(Root, pid.ToString(CultureInfo.InvariantCulture))).FullName;
        File.WriteAllText(Path.Combine(dir, "maps"), maps);
        using var mem = File.Create(Path.Combine(dir, "mem"));
        mem.SetLength(memoryBytes);
        foreach (var (address, bytes) in contents)
        {
            mem.Position = (long)address;
            mem.Write(bytes);
        }
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
