using System.Text.Json;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Json;
using GpuAudit.Core.Samples;

namespace GpuAudit.Linux;

/// <summary>Writes an inspection as JSON with <see cref="Utf8JsonWriter"/> (no reflection: NativeAOT-safe).</summary>
public static class ProcessInspectionJson
{
    // Every string value passes the redactor once more: the inspection's text came from the process.
    /// <summary>The indented JSON document of an inspection (URLs and shell text left unescaped for reading).</summary>
    public static string ToJson(ProcessInsight inspection, GpuCodeScanResult? scan)
    {
        return JsonWriting.ToText(json => Write(json, inspection, scan), JsonWriting.ReadableIndented);
    }

    public static void Write(Utf8JsonWriter json, ProcessInsight inspection, GpuCodeScanResult? scan)
    {
        json.WriteStartObject();
        json.WriteNumber("pid", inspection.Pid);
        json.WriteStringOrNull("comm", SecretRedactor.RedactOrNull(inspection.Comm));
        json.WriteStringOrNull("exe", SecretRedactor.RedactOrNull(inspection.Identity.Exe));
        json.WriteStringOrNull("cmdline", SecretRedactor.RedactOrNull(inspection.Identity.Cmdline));
        json.WriteNumberOrNull("uid", inspection.Uid);
        json.WriteStringOrNull("user", SecretRedactor.RedactOrNull(inspection.User));
        json.WriteStringOrNull("start_time", SecretRedactor.RedactOrNull(inspection.StartTime?.ToString("O", System.Globalization.CultureInfo.InvariantCulture)));
        WriteJob(json, inspection.Job);
        json.WriteStringOrNull("container_id", SecretRedactor.RedactOrNull(inspection.ContainerId));
        json.WriteStringOrNull("pod_uid", SecretRedactor.RedactOrNull(inspection.PodUid));
        json.WriteStringOrNull("cgroup", SecretRedactor.RedactOrNull(inspection.Identity.Cgroup?.Trim()));

        json.WritePropertyName("parent_chain");
        WriteProcesses(json, inspection.ParentChain);
        json.WritePropertyName("tree");
        WriteProcesses(json, inspection.Tree);

        json.WriteStartObject("libraries");
        json.WriteStrings("gpu_libs", SecretRedactor.RedactLines(inspection.Identity.GpuLibs));
        json.WriteStrings("frameworks", SecretRedactor.RedactLines(inspection.Libraries.Frameworks));
        json.WriteBoolean("runtime_compilation", inspection.Libraries.RuntimeCompilation);
        json.WriteBoolean("nvrtc_only", inspection.Libraries.NvrtcOnly);
        json.WriteStrings("miner_plugins", SecretRedactor.RedactLines(inspection.Libraries.MinerPlugins));
        json.WriteEndObject();

        json.WriteStartArray("connections");
        foreach (var c in inspection.Connections)
        {
            json.WriteStartObject();
            json.WriteNumber("pid", c.Pid);
            json.WriteStringOrNull("comm", SecretRedactor.RedactOrNull(c.Comm));
            json.WriteString("local_address", c.Local.Address.ToString());
            json.WriteNumber("local_port", c.Local.Port);
            json.WriteString("remote_address", c.Remote.Address.ToString());
            json.WriteNumber("remote_port", c.Remote.Port);
            json.WriteBoolean("pool_port", c.PoolPort);
            json.WriteBooleanOrNull("allowlisted", c.Allowlisted);

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
            json.WriteString("detail", SecretRedactor.RedactText(finding.Detail));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStrings("unreadable", SecretRedactor.RedactLines((scan is null ? inspection : scan.AddTo(inspection)).Unreadable));
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
            json.WriteStrings("kernels", SecretRedactor.RedactLines(image.Kernels));
            json.WriteNumber("kernels_omitted", image.KernelsOmitted);
            json.WriteStartArray("hash_constants");
            foreach (var hit in image.HashHits)
            {
                json.WriteStartObject();
                json.WriteString("algorithm", hit.Algorithm);
                json.WriteString("evidence", SecretRedactor.RedactText(hit.Evidence));
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
        json.WriteString("id", SecretRedactor.RedactText(job.Id));
        json.WriteString("source", job.Source);
        json.WriteStringOrNull("user", SecretRedactor.RedactOrNull(job.User));
        json.WriteEndObject();
    }

    private static void WriteProcesses(Utf8JsonWriter json, IReadOnlyList<ProcessRecord> processes)
    {
        json.WriteStartArray();
        foreach (var p in processes)
        {
            json.WriteStartObject();
            json.WriteNumber("pid", p.Pid);
            json.WriteNumberOrNull("ppid", p.Ppid);
            json.WriteStringOrNull("comm", SecretRedactor.RedactOrNull(p.Comm));
            json.WriteStringOrNull("cmdline", SecretRedactor.RedactOrNull(p.Cmdline));
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }
}
