using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Pipeline;

/// <summary>No scheduler information: every GPU is unallocated.</summary>
public sealed class NoJobMap : IGpuJobMap
{
    public static NoJobMap Instance { get; } = new();

    public JobRef? JobFor(GpuDevice gpu) => null;
}
