using System.Text;
using System.Text.Json;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Json;
using GpuAudit.Core.Policy;

namespace GpuAudit.Core.Reporting;

/// <summary>
/// The report as JSON for tools (docs/reports.md has the schema). Written with Utf8JsonWriter so it
/// works under NativeAOT; times are Unix seconds plus an ISO string for people.
/// </summary>
public static class JsonReportRenderer
{
    public static string Render(JobReport report)
    {
        using var buffer = new MemoryStream();
        Write(report, buffer);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Writes the report to <paramref name="output"/>, flushing as it goes: violations are streamed, never all held.</summary>
    public static void Write(JobReport report, Stream output)
    {
        using (var json = new Utf8JsonWriter(output, JsonWriting.ReadableIndented))
        {
            json.WriteStartObject();
            json.WriteNumber("schema_version", 1);
            json.WriteStringOrNull("job", report.AllJobs ? null : report.JobId);
            json.WriteString("verdict", report.Headline);
            json.WriteStringOrNull("user", report.User);
            json.WriteNumber("from", report.From);
            json.WriteNumber("to", report.To);
            json.WriteTime("first_seen", report.FirstSeen);
            json.WriteTime("last_seen", report.LastSeen);
            json.WriteNumber("wall_seconds", report.WallSeconds);
            json.WriteString("source", report.Source);
            json.WriteStrings("nodes", report.Nodes);
            json.WriteStrings("notes", report.Notes);
            WriteClassSeconds(json, "gpu_seconds", report.GpuSeconds);
            json.WriteNumber("energy_joules", Math.Round(report.EnergyJoules, 3));
            json.WriteNumber("diverted_gpu_minutes", Math.Round(report.DivertedGpuMinutes, 3));

            json.WriteObjects("gpus", report.Gpus, WriteGpu);
            json.WriteObjects("processes", report.Processes, (writer, p) => WriteProcess(writer, p, report.AllJobs));
            if (report.Kernels.Count > 0)
            {
                json.WriteObjects("kernels", report.Kernels, static (writer, k) =>
                {
                    writer.WriteString("node", k.Node);
                    writer.WriteNumber("pid", k.Pid);
                    writer.WriteStringOrNull("comm", k.Comm);
                    writer.WriteString("kernel", k.Kernel);
                    writer.WriteNumber("launches", k.Launches);
                    writer.WriteNumber("first_seen", k.FirstSeen);
                    writer.WriteNumber("last_seen", k.LastSeen);
                    writer.WriteStringOrNull("image_hash_constants", k.HashConstants);
                });
            }

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
            json.WriteObjects("timelines", report.Timelines, WriteTimeline);
            json.WriteEndObject();
        }

        output.WriteByte((byte)'\n');
    }

    private static void WriteGpu(Utf8JsonWriter json, ReportGpu gpu)
    {
        json.WriteString("node", gpu.Node);
        json.WriteString("uuid", gpu.Uuid);
        json.WriteNumberOrNull("index", gpu.Index);
        WriteClassSeconds(json, "seconds", gpu.ClassSeconds);
        json.WriteNumber("energy_joules", Math.Round(gpu.EnergyJoules, 3));
        json.WriteNumberOrNull("mean_utilization", gpu.MeanUtilization is { } u ? Math.Round(u, 4) : null);
    }

    private static void WriteProcess(Utf8JsonWriter json, ReportProcess p, bool allJobs)
    {
        json.WriteString("node", p.Node);
        json.WriteString("uuid", p.Uuid);
        json.WriteNumber("pid", p.Pid);
        json.WriteStringOrNull("comm", p.Comm);
        json.WriteStringOrNull("executable", p.Executable);
        json.WriteStringOrNull("user", p.User);
        if (allJobs)
        {
            json.WriteStringOrNull("job", p.Job);
        }

        json.WriteStringOrNull("class", p.ClassSeconds.Dominant?.Label());
        WriteClassSeconds(json, "seconds", p.ClassSeconds);
        json.WriteNumberOrNull("mean_sm_utilization", p.MeanSmUtilization is { } u ? Math.Round(u, 4) : null);
    }

    private static void WriteTimeline(Utf8JsonWriter json, GpuTimeline timeline)
    {
        json.WriteString("node", timeline.Node);
        json.WriteString("uuid", timeline.Uuid);
        json.WriteObjects("points", timeline.Points, static (writer, point) =>
        {
            writer.WriteNumber("t", point.Time);
            writer.WriteNumber("seconds", point.Seconds);
            writer.WriteString("class", point.Class.Label());
            writer.WriteNumberOrNull("utilization", point.Utilization is { } u ? Math.Round(u, 4) : null);
        });
    }

    private static void WriteViolation(Utf8JsonWriter json, Violation v)
    {
        json.WriteStartObject();
        json.WriteString("id", v.Id);
        json.WriteString("rule", v.Rule.Label());
        json.WriteString("severity", v.Severity.Label());
        json.WriteBoolean("allowed", v.IsAllowed);
        json.WriteStringOrNull("node", v.Node);
        json.WriteNumber("gpu", v.Gpu);
        json.WriteString("uuid", v.Uuid);
        json.WriteNumberOrNull("pid", v.Pid);
        json.WriteStringOrNull("job", v.Job);
        json.WriteStringOrNull("user", v.User);
        json.WriteStringOrNull("executable", v.Executable);
        json.WriteTime("start", v.Start);
        json.WriteTime("end", v.End);
        json.WriteStrings("context", v.Context);
        json.WriteStrings("evidence", v.Evidence);
        if (v.AllowedBy is { } allowance)
        {
            json.WriteStartObject("allowance");
            json.WriteString("reason", allowance.Reason);
            json.WriteString("scope", allowance.Scope);
            json.WriteStrings("rules", allowance.Rules.Select(r => r.Label()).ToList());
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

    /// <summary>A time as Unix seconds and, beside it as <c>name_iso</c>, the same time for people; both null when unknown.</summary>
    private static void WriteTime(this Utf8JsonWriter json, string name, double? time)
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
}
