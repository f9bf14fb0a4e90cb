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
        json.WriteRedactedOrNull("comm", inspection.Comm);
        json.WriteRedactedOrNull("exe", inspection.Identity.Exe);
        json.WriteRedactedOrNull("cmdline", inspection.Identity.Cmdline);
        json.WriteNumberOrNull("uid", inspection.Uid);
        json.WriteRedactedOrNull("user", inspection.User);
        json.WriteRedactedOrNull("start_time", inspection.StartTime?.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        json.WriteObjectOrNull("job", inspection.Job, WriteJob);
        json.WriteRedactedOrNull("container_id", inspection.ContainerId);
        json.WriteRedactedOrNull("pod_uid", inspection.PodUid);
        json.WriteRedactedOrNull("cgroup", inspection.Identity.Cgroup?.Trim());

        json.WriteObjects("parent_chain", inspection.ParentChain, WriteProcess);
        json.WriteObjects("tree", inspection.Tree, WriteProcess);

        json.WriteStartObject("libraries");
        json.WriteStrings("gpu_libs", SecretRedactor.RedactLines(inspection.Identity.GpuLibs));
        json.WriteStrings("frameworks", SecretRedactor.RedactLines(inspection.Libraries.Frameworks));
        json.WriteBoolean("runtime_compilation", inspection.Libraries.RuntimeCompilation);
        json.WriteBoolean("nvrtc_only", inspection.Libraries.NvrtcOnly);
        json.WriteStrings("miner_plugins", SecretRedactor.RedactLines(inspection.Libraries.MinerPlugins));
        json.WriteEndObject();

        json.WriteObjects("connections", inspection.Connections, WriteConnection);

        json.WriteObjectOrNull("memory_scan", scan, WriteScan);
        json.WriteObjects("findings", (scan is null ? inspection : scan.AddTo(inspection)).Findings, static (writer, finding) =>
        {
            writer.WriteString("kind", finding.Kind.Label());
            writer.WriteString("detail", SecretRedactor.RedactText(finding.Detail));
        });
        json.WriteStrings("unreadable", SecretRedactor.RedactLines((scan is null ? inspection : scan.AddTo(inspection)).Unreadable));
        json.WriteEndObject();
    }

    private static void WriteScan(Utf8JsonWriter json, GpuCodeScanResult scan)
    {
        json.WriteNumber("bytes_scanned", scan.BytesScanned);
        json.WriteNumber("seconds", Math.Round(scan.Elapsed.TotalSeconds, 3));
        json.WriteBoolean("truncated", scan.Truncated);
        json.WriteNumber("regions_cached", scan.RegionsCached);
        json.WriteNumber("regions_pending", scan.RegionsPending);
        json.WriteNumber("compressed_fatbin_entries", scan.CompressedEntries);
        json.WriteNumber("undecoded_fatbin_entries", scan.UndecodedEntries);
        json.WriteNumber("images_not_kept", scan.ImagesNotKept);
        json.WriteNumber("nested_images_skipped", scan.NestedImagesSkipped);
        json.WriteObjects("images", scan.Images, WriteImage);
    }

    private static void WriteJob(Utf8JsonWriter json, JobRef job)
    {
        json.WriteString("id", SecretRedactor.RedactText(job.Id));
        json.WriteString("source", job.Source);
        json.WriteRedactedOrNull("user", job.User);
    }

    private static void WriteProcess(Utf8JsonWriter json, ProcessRecord p)
    {
        json.WriteNumber("pid", p.Pid);
        json.WriteNumberOrNull("ppid", p.Ppid);
        json.WriteRedactedOrNull("comm", p.Comm);
        json.WriteRedactedOrNull("cmdline", p.Cmdline);
    }

    private static void WriteConnection(Utf8JsonWriter json, OutboundConnection c)
    {
        json.WriteNumber("pid", c.Pid);
        json.WriteRedactedOrNull("comm", c.Comm);
        json.WriteString("local_address", c.Local.Address.ToString());
        json.WriteNumber("local_port", c.Local.Port);
        json.WriteString("remote_address", c.Remote.Address.ToString());
        json.WriteNumber("remote_port", c.Remote.Port);
        json.WriteBoolean("pool_port", c.PoolPort);
        json.WriteBooleanOrNull("allowlisted", c.Allowlisted);
    }

    private static void WriteImage(Utf8JsonWriter json, GpuCodeImage image)
    {
        json.WriteString("kind", GpuCodeScanResult.KindName(image.Kind));
        json.WriteString("address", "0x" + image.Address.ToString("x", System.Globalization.CultureInfo.InvariantCulture));
        json.WriteNumber("length", image.Length);
        json.WriteNumber("copies", image.Copies);
        json.WriteStrings("kernels", SecretRedactor.RedactLines(image.Kernels));
        json.WriteNumber("kernels_omitted", image.KernelsOmitted);
        json.WriteObjects("hash_constants", image.HashHits, static (writer, hit) =>
        {
            writer.WriteString("algorithm", hit.Algorithm);
            writer.WriteString("evidence", SecretRedactor.RedactText(hit.Evidence));
        });
    }
}
