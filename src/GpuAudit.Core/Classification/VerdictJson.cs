using System.Text.Json;
using GpuAudit.Core.Pipeline;

namespace GpuAudit.Core.Classification;

/// <summary>
/// Writes each verdict as it is made, as JSON Lines:
/// <c>{"file","t","gpu","pid","class","confidence","evidence":[...]}</c>, pid null for the whole
/// GPU, the GPU's line before its processes'. Utf8JsonWriter keeps it NativeAOT-safe.
/// </summary>
public sealed class VerdictJson(Stream output, string file) : IAnalysisSink, IDisposable
{
    private static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Utf8JsonWriter _writer = new(output, Options);

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
        if (v.Pid is { } pid)
        {
            _writer.WriteNumber("pid", pid);
        }
        else
        {
            _writer.WriteNull("pid");
        }

        _writer.WriteString("class", v.Class.Label());
        _writer.WriteNumber("confidence", Math.Round(v.Confidence, 2));
        _writer.WriteStartArray("evidence");
        foreach (var e in v.Evidence)
        {
            _writer.WriteStringValue(e);
        }

        _writer.WriteEndArray();
        _writer.WriteEndObject();
        _writer.Flush();
        _writer.Reset();
        output.WriteByte((byte)'\n');
    }
}
