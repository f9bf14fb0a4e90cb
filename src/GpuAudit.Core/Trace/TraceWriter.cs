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
        _json.WriteStartObject();
        _json.WriteString("kind", "header");
        _json.WriteString("format", TraceHeader.FormatName);
        _json.WriteNumber("version", header.Version);
        _json.WriteStringOrNull("host", header.Node);
        _json.WriteStringOrNull("workload", header.Workload);
        _json.WriteStringOrNull("description", header.Description);
        WriteTruth(header.Truth);
        _json.WriteObjects("gpus", header.Gpus, WriteGpu);
        _json.WriteNumberOrNull("interval_s", header.IntervalS);
        _json.WriteEndObject();
        EndLine();
    }

    public void WriteProcess(ProcessRecord process)
    {
        _json.WriteStartObject();
        _json.WriteString("kind", "process");
        _json.WriteNumber("pid", process.Pid);
        _json.WriteNumberOrNull("ppid", process.Ppid);
        if (process.StartTicks is { } startTicks)
        {
            _json.WriteNumber("start_ticks", startTicks);
        }

        _json.WriteStringOrNull("comm", process.Comm);
        _json.WriteStringOrNull("exe", process.Exe);
        _json.WriteStringOrNull("cmdline", process.Cmdline);
        _json.WriteStringOrNull("cgroup", process.Cgroup);
        _json.WriteStrings("gpu_libs", process.GpuLibs);
        WriteTruth(process.Truth);
        if (process.MemoryScan is { } scan)
        {
            WriteMemoryScan(scan);
        }

        _json.WriteEndObject();
        EndLine();
    }

    public void WriteSample(GpuSample sample)
    {
        _json.WriteStartObject();
        _json.WriteString("kind", "sample");
        _json.WriteNumber("t", sample.Time);
        _json.WriteNumber("gpu", sample.Gpu);
        WriteTruth(sample.Truth);
        _json.WriteNumberOrNull("util_gpu_pct", sample.UtilGpuPct);
        _json.WriteNumberOrNull("util_mem_pct", sample.UtilMemPct);
        _json.WriteNumberOrNull("mem_used_bytes", sample.MemUsedBytes);
        if (sample.MemReservedBytes is { } reserved)
        {
            _json.WriteNumber("mem_reserved_bytes", reserved);
        }
        _json.WriteNumberOrNull("power_mw", sample.PowerMw);
        _json.WriteNumberOrNull("sm_clock_mhz", sample.SmClockMhz);
        if (sample.MemClockMhz is { } memClock)
        {
            _json.WriteNumber("mem_clock_mhz", memClock);
        }

        _json.WriteNumberOrNull("temp_c", sample.TempC);
        _json.WriteNumberOrNull("energy_mj", sample.EnergyMj);
        if (sample.Gpm is { } gpm)
        {
            _json.WriteStartObject("gpm");
            foreach (var metric in GpmMetricInfo.All)
            {
                _json.WriteNumberOrNull(GpmMetricInfo.TraceName(metric), gpm[metric]);
            }

            _json.WriteEndObject();
        }
        else
        {
            _json.WriteNull("gpm");
        }

        _json.WriteNumberOrNull("gpm_interval_s", sample.GpmIntervalS);
        _json.WriteObjects("procs", sample.Procs, static (json, p) =>
        {
            json.WriteNumber("pid", p.Pid);
            json.WriteNumberOrNull("used_mem_bytes", p.UsedMemBytes);
            json.WriteNumberOrNull("sm_pct", p.SmPct);
            json.WriteNumberOrNull("mem_pct", p.MemPct);
        });
        _json.WriteEndObject();
        EndLine();
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
        if (gpu.MigEnabled is { } mig)
        {
            json.WriteBoolean("mig_enabled", mig);
        }

        if (gpu.Mig is { } instance)
        {
            json.WriteStartObject("mig");
            json.WriteString("parent_uuid", instance.ParentUuid);
            json.WriteNumber("parent_index", instance.ParentIndex);
            json.WriteNumber("gpu_instance_id", instance.GpuInstanceId);
            json.WriteNumber("compute_instance_id", instance.ComputeInstanceId);
            json.WriteEndObject();
        }
    }

    private void WriteMemoryScan(MemoryScanSummary scan)
    {
        _json.WriteStartObject("memory_scan");
        _json.WriteStartObject("hits");
        foreach (var (pattern, count) in scan.Hits)
        {
            _json.WriteStartObject(pattern);
            _json.WriteNumber("anon", count.Anon);
            _json.WriteNumber("file", count.File);
            _json.WriteEndObject();
        }

        _json.WriteEndObject();
        _json.WriteStrings("ptx_entries", scan.PtxEntries);
        _json.WriteNumberOrNull("bytes_scanned", scan.BytesScanned);
        _json.WriteNumberOrNull("seconds", scan.Seconds);
        if (scan.Truncated is { } truncated)
        {
            _json.WriteBoolean("truncated", truncated);
        }

        _json.WriteEndObject();
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

    private void EndLine()
    {
        _json.EndLine(_stream);
        _stream.Flush();
    }
}
