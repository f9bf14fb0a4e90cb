using System.Text.Json;
using GpuAudit.Core.Json;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Trace;

/// <summary>
/// Writes trace format v1: one JSON object per line, flushed per line so a recording cut short
/// (Ctrl-C, kill) still reads back up to its last whole line. Null values are written as null
/// (the format's "missing"), never as zero. Extra fields this project adds (<c>mem_clock_mhz</c>,
/// <c>mem_reserved_bytes</c>, <c>pci_bus_id</c>, <c>mig</c>) are ignored by other v1 readers, as the format requires.
/// </summary>
public sealed class TraceWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly Utf8JsonWriter _json;

    public TraceWriter(Stream stream)
    {
        _stream = stream;
        _json = new Utf8JsonWriter(stream);
    }

    public void WriteHeader(TraceHeader header)
    {
        StartRecord("header");
        _json.WriteString("format", TraceHeader.FormatName);
        _json.WriteNumber("version", header.Version);
        _json.WriteStringOrNull("host", header.Node);
        _json.WriteStringOrNull("workload", header.Workload);
        _json.WriteStringOrNull("description", header.Description);
        WriteTruth(header.Truth);
        _json.WriteObjects("gpus", header.Gpus, WriteGpu);
        _json.WriteNumberOrNull("interval_s", header.IntervalS);
        EndRecord();
    }

    public void WriteProcess(ProcessRecord process)
    {
        StartRecord("process");
        _json.WriteNumber("pid", process.Pid);
        _json.WriteNumberOrNull("ppid", process.Ppid);
        _json.WriteNumberIfSet("start_ticks", process.StartTicks);
        _json.WriteStringOrNull("comm", process.Comm);
        _json.WriteStringOrNull("exe", process.Exe);
        _json.WriteStringOrNull("cmdline", process.Cmdline);
        _json.WriteStringOrNull("cgroup", process.Cgroup);
        _json.WriteStrings("gpu_libs", process.GpuLibs);
        WriteTruth(process.Truth);
        _json.WriteObjectIfSet("memory_scan", process.MemoryScan, WriteMemoryScan);
        EndRecord();
    }

    public void WriteSample(GpuSample sample)
    {
        StartRecord("sample");
        _json.WriteNumber("t", sample.Time);
        _json.WriteNumber("gpu", sample.Gpu);
        WriteTruth(sample.Truth);
        _json.WriteNumberOrNull("util_gpu_pct", sample.UtilGpuPct);
        _json.WriteNumberOrNull("util_mem_pct", sample.UtilMemPct);
        _json.WriteNumberOrNull("mem_used_bytes", sample.MemUsedBytes);
        _json.WriteNumberIfSet("mem_reserved_bytes", sample.MemReservedBytes);
        _json.WriteNumberOrNull("power_mw", sample.PowerMw);
        _json.WriteNumberOrNull("sm_clock_mhz", sample.SmClockMhz);
        _json.WriteNumberIfSet("mem_clock_mhz", sample.MemClockMhz);
        _json.WriteNumberOrNull("temp_c", sample.TempC);
        _json.WriteNumberOrNull("energy_mj", sample.EnergyMj);
        _json.WriteObjectOrNull("gpm", sample.Gpm, static (json, gpm) =>
        {
            foreach (var metric in GpmMetricInfo.All)
            {
                json.WriteNumberOrNull(GpmMetricInfo.TraceName(metric), gpm[metric]);
            }
        });
        _json.WriteNumberOrNull("gpm_interval_s", sample.GpmIntervalS);
        _json.WriteObjects("procs", sample.Procs, static (json, p) =>
        {
            json.WriteNumber("pid", p.Pid);
            json.WriteNumberOrNull("used_mem_bytes", p.UsedMemBytes);
            json.WriteNumberOrNull("sm_pct", p.SmPct);
            json.WriteNumberOrNull("mem_pct", p.MemPct);
        });
        EndRecord();
    }

    public void Dispose()
    {
        _json.Dispose();
        _stream.Dispose();
    }

    private static void WriteGpu(Utf8JsonWriter json, GpuDevice gpu)
    {
        json.WriteNumber("index", gpu.Index);
        json.WriteString("uuid", gpu.Uuid);
        json.WriteString("name", gpu.Name);
        json.WriteString("driver", gpu.Driver);
        json.WriteNumberOrNull("mem_total_bytes", gpu.MemTotalBytes);
        json.WriteBoolean("gpm_supported", gpu.GpmSupported);
        json.WriteStringOrNull("pci_bus_id", gpu.PciBusId);
        json.WriteBooleanIfSet("mig_enabled", gpu.MigEnabled);
        json.WriteObjectIfSet("mig", gpu.Mig, static (writer, mig) =>
        {
            writer.WriteString("parent_uuid", mig.ParentUuid);
            writer.WriteNumber("parent_index", mig.ParentIndex);
            writer.WriteNumber("gpu_instance_id", mig.GpuInstanceId);
            writer.WriteNumber("compute_instance_id", mig.ComputeInstanceId);
        });
    }

    private static void WriteMemoryScan(Utf8JsonWriter json, MemoryScanSummary scan)
    {
        json.WriteStartObject("hits");
        foreach (var (pattern, count) in scan.Hits)
        {
            json.WriteStartObject(pattern);
            json.WriteNumber("anon", count.Anon);
            json.WriteNumber("file", count.File);
            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteStrings("ptx_entries", scan.PtxEntries);
        json.WriteNumberOrNull("bytes_scanned", scan.BytesScanned);
        json.WriteNumberOrNull("seconds", scan.Seconds);
        json.WriteBooleanIfSet("truncated", scan.Truncated);
    }

    private void WriteTruth(Truth? truth)
    {
        if (truth is null)
        {
            return;
        }

        _json.WriteStringOrNull("truth_class", truth.Class);
        _json.WriteStringOrNull("truth_workload", truth.Workload);
    }

    // Every record is one object tagged with its kind, on a line of its own.
    private void StartRecord(string kind)
    {
        _json.WriteStartObject();
        _json.WriteString("kind", kind);
    }

    private void EndRecord()
    {
        _json.WriteEndObject();
        _json.EndLine(_stream);
        _stream.Flush();
    }
}
