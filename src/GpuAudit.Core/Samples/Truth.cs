namespace GpuAudit.Core.Samples;

/// <summary>
/// Ground truth carried by labelled recordings (trace fields <c>truth_class</c>,
/// <c>truth_workload</c>). Only evaluation code reads it; the classifier never does.
/// </summary>
public sealed record Truth(string? Class, string? Workload);
