using GpuAudit.Agent.Journal;

namespace GpuAudit.Benchmarks;

/// <summary>An audit journal in a fresh temp directory, deleted with it: where the benchmarks write.</summary>
internal sealed class TempJournal : IDisposable
{
    private readonly string _directory;

    private TempJournal(string directory)
    {
        _directory = directory;
        Journal = AuditJournal.Open(directory);
    }

    public AuditJournal Journal { get; }

    /// <summary>Opened in <see cref="BenchmarkDotNet.Attributes.GlobalSetupAttribute"/>, disposed in the matching cleanup.</summary>
    public static TempJournal Open(string prefix) => new(Directory.CreateTempSubdirectory(prefix).FullName);

    public void Dispose()
    {
        Journal.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
