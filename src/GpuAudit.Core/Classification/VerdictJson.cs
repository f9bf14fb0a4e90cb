using System.Text.Json;

namespace GpuAudit.Core.Classification;

/// <summary>
/// Writes verdicts as JSON Lines: <c>{"file","t","gpu","pid","class","confidence","evidence":[...]}</c>,
/// pid null for the whole GPU. Utf8JsonWriter keeps it NativeAOT-safe.
/// </summary>
public static class VerdictJson
{
    private static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(Stream output, string file, IEnumerable<GpuVerdicts> verdicts)
    {
        using var writer = new Utf8JsonWriter(output, Options);
        foreach (var v in verdicts)
        {
            WriteOne(writer, output, file, v.Gpu);
            foreach (var p in v.Processes)
            {
                WriteOne(writer, output, file, p);
            }
        }
    }

    private static void WriteOne(Utf8JsonWriter writer, Stream output, string file, Verdict v)
    {
        writer.WriteStartObject();
        writer.WriteString("file", file);
        writer.WriteNumber("t", Math.Round(v.Time, 3));
        writer.WriteNumber("gpu", v.Gpu);
        if (v.Pid is { } pid)
        {
            writer.WriteNumber("pid", pid);
        }
        else
        {
            writer.WriteNull("pid");
        }

        writer.WriteString("class", v.Class.Label());
        writer.WriteNumber("confidence", Math.Round(v.Confidence, 2));
        writer.WriteStartArray("evidence");
        foreach (var e in v.Evidence)
        {
            writer.WriteStringValue(e);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
        writer.Reset();
        output.WriteByte((byte)'\n');
    }
}
