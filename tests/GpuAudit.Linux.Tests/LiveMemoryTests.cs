namespace GpuAudit.Linux.Tests;

/// <summary>Tests that scan or inspect this live test process run alone, never beside tests that allocate images.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LiveMemoryTests
{
    public const string Name = "live process memory";
}
