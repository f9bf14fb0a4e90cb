using System.Text.Encodings.Web;
using System.Text.Json;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Linux;

/// <summary>Writes an inspection as JSON with <see cref="Utf8JsonWriter"/> (no reflection: NativeAOT-safe).</summary>
public static class ProcessInspectionJson
{
    /// <summary>The indented JSON document of an inspection (URLs and shell text left unescaped for reading).</summary>
    public static string ToJson(ProcessInsight inspection, GpuCodeScanResult? scan)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            Write(json, inspection, scan);
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    public static void Write(Utf8JsonWriter json, ProcessInsight inspection, GpuCodeScanResult? scan)
    {
        json.WriteStartObject();
        json.WriteNumber("pid", inspection.Pid);
        WriteStringOrNull(json, "comm", inspection.Comm);
        WriteStringOrNull(json, "exe", inspection.Identity.Exe);
        WriteStringOrNull(json, "cmdline", inspection.Identity.Cmdline);
        WriteNumberOrNull(json, "uid", inspection.Uid);
        WriteStringOrNull(json, "user", inspection.User);
        WriteStringOrNull(json, "start_time", inspection.StartTime?.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        WriteJob(json, inspection.Job);
        WriteStringOrNull(json, "container_id", inspection.ContainerId);
        WriteStringOrNull(json, "pod_uid", inspection.PodUid);
        WriteStringOrNull(json, "cgroup", inspection.Identity.Cgroup?.Trim());

        json.WritePropertyName("parent_chain");
        WriteProcesses(json, inspection.ParentChain);
        json.WritePropertyName("tree");
        WriteProcesses(json, inspection.Tree);

        json.WriteStartObject("libraries");
        WriteStrings(json, "gpu_libs", inspection.Identity.GpuLibs);
        WriteStrings(json, "frameworks", inspection.Libraries.Frameworks);
        json.WriteBoolean("runtime_compilation", inspection.Libraries.RuntimeCompilation);
        json.WriteBoolean("nvrtc_only", inspection.Libraries.NvrtcOnly);
        WriteStrings(json, "miner_plugins", inspection.Libraries.MinerPlugins);
        json.WriteEndObject();

        json.WriteStartArray("connections");
        foreach (var c in inspection.Connections)
        {
            json.WriteStartObject();
            json.WriteNumber("pid", c.Pid);
            WriteStringOrNull(json, "comm", c.Comm);
            json.WriteString("local_address", c.Local.Address.ToString());
            json.WriteNumber("local_port", c.Local.Port);
            json.WriteString("remote_address", c.Remote.Address.ToString());
            json.WriteNumber("remote_port", c.Remote.Port);
            json.WriteBoolean("pool_port", c.PoolPort);
            if (c.Allowlisted is { } allowed)
            {
                json.WriteBoolean("allowlisted", allowed);
            }
            else
            {
                json.WriteNull("allowlisted");
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();

        if (scan is null)
        {
            json.WriteNull("memory_scan");
        }
        else
        {
            WriteScan(json, scan);
        }

        json.WriteStartArray("findings");
        foreach (var finding in (scan is null ? inspection : scan.AddTo(inspection)).Findings)
        {
            json.WriteStartObject();
            json.WriteString("kind", finding.Kind.Label());
            json.WriteString("detail", finding.Detail);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        WriteStrings(json, "unreadable", (scan is null ? inspection : scan.AddTo(inspection)).Unreadable);
        json.WriteEndObject();
    }

    private static void WriteScan(Utf8JsonWriter json, GpuCodeScanResult scan)
    {
        json.WriteStartObject("memory_scan");
        json.WriteNumber("bytes_scanned", scan.BytesScanned);
        json.WriteNumber("seconds", Math.Round(scan.Elapsed.TotalSeconds, 3));
        json.WriteBoolean("truncated", scan.Truncated);
        json.WriteNumber("regions_cached", scan.RegionsCached);
        json.WriteNumber("regions_pending", scan.RegionsPending);
        json.WriteNumber("compressed_fatbin_entries", scan.CompressedEntries);
        json.WriteNumber("undecoded_fatbin_entries", scan.UndecodedEntries);
        json.WriteNumber("images_not_kept", scan.ImagesNotKept);
        json.WriteNumber("nested_images_skipped", scan.NestedImagesSkipped);
        json.WriteStartArray("images");
        foreach (var image in scan.Images)
        {
            json.WriteStartObject();
            json.WriteString("kind", GpuCodeScanResult.KindName(image.Kind));
            json.WriteString("address", "0x" + image.Address.ToString("x", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteNumber("length", image.Length);
            json.WriteNumber("copies", image.Copies);
            WriteStrings(json, "kernels", image.Kernels);
            json.WriteNumber("kernels_omitted", image.KernelsOmitted);
            json.WriteStartArray("hash_constants");
            foreach (var hit in image.HashHits)
            {
                json.WriteStartObject();
                json.WriteString("algorithm", hit.Algorithm);
                json.WriteString("evidence", hit.Evidence);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteJob(Utf8JsonWriter json, JobRef? job)
    {
        if (job is null)
        {
            json.WriteNull("job");
            return;
        }

        json.WriteStartObject("job");
        json.WriteString("id", job.Id);
        json.WriteString("source", job.Source);
        WriteStringOrNull(json, "user", job.User);
        json.WriteEndObject();
    }

    private static void WriteProcesses(Utf8JsonWriter json, IReadOnlyList<ProcessRecord> processes)
    {
        json.WriteStartArray();
        foreach (var p in processes)
        {
            json.WriteStartObject();
            json.WriteNumber("pid", p.Pid);
            WriteNumberOrNull(json, "ppid", p.Ppid);
            WriteStringOrNull(json, "comm", p.Comm);
            WriteStringOrNull(json, "cmdline", p.Cmdline);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static void WriteStringOrNull(Utf8JsonWriter json, string name, string? value)
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

    private static void WriteNumberOrNull(Utf8JsonWriter json, string name, int? value)
    {
        if (value is { } number)
        {
            json.WriteNumber(name, number);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
