namespace GpuAudit.Cli.Tests;

/// <summary>The GPU check's dry run measures seconds: it runs alone, after the parallel tests.</summary>
[CollectionDefinition(GpuCheckDryRunTests.Alone, DisableParallelization = true)]
public sealed class GpuCheckRunsAlone;
