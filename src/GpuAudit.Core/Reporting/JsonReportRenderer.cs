using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Policy;

namespace GpuAudit.Core.Reporting;

/// <summary>
/// The report as JSON for tools (docs/reports.md has the schema). Written with Utf8JsonWriter so it
/// works under NativeAOT; times are Unix seconds plus an ISO string for people.
/// </summary>
public static class JsonReportRenderer
{
    private static readonly JsonWriterOptions Options = new()
    {
        Indented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Render(JobReport report)
    {
        using var buffer = new MemoryStream();
        Write(report, buffer);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Writes the report to <paramref name="output"/>, flushing as it goes: violations are streamed, never all held.</summary>
    public static void Write(JobReport report, Stream output)
    {
        using (var json = new Utf8JsonWriter(output, Options))
        {
            json.WriteStartObject();
            json.WriteNumber("schema_version", 1);
            WriteNullable(json, "job", report.AllJobs ? null : report.JobId);
            json.WriteString("verdict", report.Headline);
            WriteNullable(json, "user", report.User);
            json.WriteNumber("from", report.From);
            json.WriteNumber("to", report.To);
            WriteTime(json, "first_seen", report.FirstSeen);
            WriteTime(json, "last_seen", report.LastSeen);
            json.WriteNumber("wall_seconds", report.WallSeconds);
            json.WriteString("source", report.Source);
            WriteStrings(json, "nodes", report.Nodes);
            WriteStrings(json, "notes", report.Notes);
            WriteClassSeconds(json, "gpu_seconds", report.GpuSeconds);
            json.WriteNumber("energy_joules", Math.Round(report.EnergyJoules, 3));
            json.WriteNumber("diverted_gpu_minutes", Math.Round(report.DivertedGpuMinutes, 3));

            json.WriteStartArray("gpus");
            foreach (var gpu in report.Gpus)
            {
                json.WriteStartObject();
                json.WriteString("node", gpu.Node);
                json.WriteString("uuid", gpu.Uuid);
                WriteNullable(json, "index", gpu.Index);
                WriteClassSeconds(json, "seconds", gpu.ClassSeconds);
                json.WriteNumber("energy_joules", Math.Round(gpu.EnergyJoules, 3));
                WriteNullable(json, "mean_utilization", gpu.MeanUtilization is { } u ? Math.Round(u, 4) : null);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("processes");
            foreach (var p in report.Processes)
            {
                json.WriteStartObject();
                json.WriteString("node", p.Node);
                json.WriteString("uuid", p.Uuid);
                json.WriteNumber("pid", p.Pid);
                WriteNullable(json, "comm", p.Comm);
                WriteNullable(json, "executable", p.Executable);
                WriteNullable(json, "user", p.User);
                if (report.AllJobs)
                {
                    WriteNullable(json, "job", p.Job);
                }

                WriteNullable(json, "class", p.ClassSeconds.Dominant?.Label());
                WriteClassSeconds(json, "seconds", p.ClassSeconds);
                WriteNullable(json, "mean_sm_utilization", p.MeanSmUtilization is { } u ? Math.Round(u, 4) : null);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("violations");
            foreach (var v in report.Violations)
            {
                WriteViolation(json, v);
                if (json.BytesPending >= 64 * 1024)
                {
                    json.Flush();
                }
            }

            json.WriteEndArray();
            json.WriteStartArray("timelines");
            foreach (var timeline in report.Timelines)
            {
                json.WriteStartObject();
                json.WriteString("node", timeline.Node);
                json.WriteString("uuid", timeline.Uuid);
                json.WriteStartArray("points");
                foreach (var point in timeline.Points)
                {
                    json.WriteStartObject();
                    json.WriteNumber("t", point.Time);
                    json.WriteNumber("seconds", point.Seconds);
                    json.WriteString("class", point.Class.Label());
                    WriteNullable(json, "utilization", point.Utilization is { } u ? Math.Round(u, 4) : null);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        output.WriteByte((byte)'\n');
    }

    private static void WriteViolation(Utf8JsonWriter json, Violation v)
    {
        json.WriteStartObject();
        json.WriteString("id", v.Id);
        json.WriteString("rule", v.Rule.Label());
        json.WriteString("severity", v.Severity.Label());
        json.WriteBoolean("allowed", v.IsAllowed);
        WriteNullable(json, "node", v.Node);
        json.WriteNumber("gpu", v.Gpu);
        json.WriteString("uuid", v.Uuid);
        WriteNullable(json, "pid", v.Pid);
        WriteNullable(json, "job", v.Job);
        WriteNullable(json, "user", v.User);
        WriteNullable(json, "executable", v.Executable);
        WriteTime(json, "start", v.Start);
        WriteTime(json, "end", v.End);
        WriteStrings(json, "context", v.Context);
        WriteStrings(json, "evidence", v.Evidence);
        if (v.AllowedBy is { } allowance)
        {
            json.WriteStartObject("allowance");
            json.WriteString("reason", allowance.Reason);
            json.WriteString("scope", allowance.Scope);
            WriteStrings(json, "rules", allowance.Rules.Select(r => r.Label()).ToList());
            json.WriteNumber("line", allowance.Line);
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("allowance");
        }

        json.WriteEndObject();
    }

    private static void WriteClassSeconds(Utf8JsonWriter json, string name, ClassSeconds seconds)
    {
        json.WriteStartObject(name);
        foreach (var value in WorkloadClassNames.All)
        {
            json.WriteNumber(value.Label(), Math.Round(seconds[value], 3));
        }

        json.WriteEndObject();
    }

    private static void WriteTime(Utf8JsonWriter json, string name, double? time)
    {
        if (time is { } t)
        {
            json.WriteNumber(name, t);
            json.WriteString(name + "_iso", ReportText.Time(t));
        }
        else
        {
            json.WriteNull(name);
            json.WriteNull(name + "_iso");
        }
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, IReadOnlyList<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
