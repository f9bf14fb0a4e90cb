using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Trace;

/// <summary>A whole trace file in memory: for classification, evaluation and tests.</summary>
public sealed record RecordedTrace(string Name, TraceHeader Header, IReadOnlyList<ProcessRecord> Processes, IReadOnlyList<GpuSample> Samples)
{
    public static RecordedTrace Load(string path, TraceReadOptions? options = null)
    {
        using var reader = TraceReader.Open(path, options);
        return reader.ReadToEnd();
    }
}
