using System.Text.Json;
using GpuAudit.Core.Json;
using GpuAudit.Core.Pipeline;

namespace GpuAudit.Core.Classification;

/// <summary>
/// Writes each verdict as it is made, as JSON Lines:
/// <c>{"file","t","gpu","pid","class","confidence","evidence":[...]}</c>, pid null for the whole
/// GPU, the GPU's line before its processes'. Utf8JsonWriter keeps it NativeAOT-safe.
/// </summary>
public sealed class VerdictJson(Stream output, string file) : IAnalysisSink, IDisposable
{
    private readonly Utf8JsonWriter _writer = new(output, JsonWriting.Readable);

    public void OnTick(TickAnalysis analysis, TimeSpan pollDuration)
    {
        foreach (var gpu in analysis.Gpus)
        {
            if (gpu.NewVerdicts is { } verdicts)
            {
                Write(verdicts);
            }
        }
    }

    public void Write(GpuVerdicts verdicts)
    {
        WriteOne(verdicts.Gpu);
        foreach (var p in verdicts.Processes)
        {
            WriteOne(p);
        }
    }

    public void Dispose() => _writer.Dispose();

    private void WriteOne(Verdict v)
    {
        _writer.WriteStartObject();
        _writer.WriteString("file", file);
        _writer.WriteNumber("t", Math.Round(v.Time, 3));
        _writer.WriteNumber("gpu", v.Gpu);
        _writer.WriteNumberOrNull("pid", v.Pid);

        _writer.WriteString("class", v.Class.Label());
        _writer.WriteNumber("confidence", Math.Round(v.Confidence, 2));
        _writer.WriteStrings("evidence", v.Evidence);
        _writer.WriteEndObject();
        _writer.EndLine(output);
    }
}
