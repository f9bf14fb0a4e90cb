using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Trace;

/// <summary>One record after the header: a process identity line or a sample line.</summary>
public readonly record struct TraceEntry(ProcessRecord? Process, GpuSample? Sample);
