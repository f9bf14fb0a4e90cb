using System.Text.Json;
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
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = false, Indented = false };
    private readonly Stream _stream;
    private readonly Utf8JsonWriter _json;

    public TraceWriter(Stream stream)
    {
        _stream = stream;
        _json = new Utf8JsonWriter(stream, WriterOptions);
    }

    public void WriteHeader(TraceHeader header)
    {
        _json.WriteStartObject();
        _json.WriteString("kind", "header");
        _json.WriteString("format", TraceHeader.FormatName);
        _json.WriteNumber("version", header.Version);
        WriteStringOrNull("host", header.Host);
        WriteStringOrNull("workload", header.Workload);
        WriteStringOrNull("description", header.Description);
        WriteTruth(header.Truth);
        _json.WriteStartArray("gpus");
        foreach (var gpu in header.Gpus)
        {
            _json.WriteStartObject();
            _json.WriteNumber("index", gpu.Index);
            _json.WriteString("uuid", gpu.Uuid);
            _json.WriteString("name", gpu.Name);
            _json.WriteString("driver", gpu.Driver);
            WriteNumberOrNull("mem_total_bytes", gpu.MemTotalBytes);
            _json.WriteBoolean("gpm_supported", gpu.GpmSupported);
            WriteStringOrNull("pci_bus_id", gpu.PciBusId);
            if (gpu.MigEnabled is { } mig)
            {
                _json.WriteBoolean("mig_enabled", mig);
            }

            if (gpu.Mig is { } instance)
            {
                _json.WriteStartObject("mig");
                _json.WriteString("parent_uuid", instance.ParentUuid);
                _json.WriteNumber("parent_index", instance.ParentIndex);
                _json.WriteNumber("gpu_instance_id", instance.GpuInstanceId);
                _json.WriteNumber("compute_instance_id", instance.ComputeInstanceId);
                _json.WriteEndObject();
            }

            _json.WriteEndObject();
        }

        _json.WriteEndArray();
        WriteNumberOrNull("interval_s", header.IntervalS);
        _json.WriteEndObject();
        EndLine();
    }

    public void WriteProcess(ProcessRecord process)
    {
        _json.WriteStartObject();
        _json.WriteString("kind", "process");
        _json.WriteNumber("pid", process.Pid);
        WriteNumberOrNull("ppid", process.Ppid);
        if (process.StartTicks is { } startTicks)
        {
            _json.WriteNumber("start_ticks", startTicks);
        }

        WriteStringOrNull("comm", process.Comm);
        WriteStringOrNull("exe", process.Exe);
        WriteStringOrNull("cmdline", process.Cmdline);
        WriteStringOrNull("cgroup", process.Cgroup);
        _json.WriteStartArray("gpu_libs");
        foreach (var lib in process.GpuLibs)
        {
            _json.WriteStringValue(lib);
        }

        _json.WriteEndArray();
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
        WriteNumberOrNull("util_gpu_pct", sample.UtilGpuPct);
        WriteNumberOrNull("util_mem_pct", sample.UtilMemPct);
        WriteNumberOrNull("mem_used_bytes", sample.MemUsedBytes);
        if (sample.MemReservedBytes is { } reserved)
        {
            _json.WriteNumber("mem_reserved_bytes", reserved);
        }
        WriteNumberOrNull("power_mw", sample.PowerMw);
        WriteNumberOrNull("sm_clock_mhz", sample.SmClockMhz);
        if (sample.MemClockMhz is { } memClock)
        {
            _json.WriteNumber("mem_clock_mhz", memClock);
        }

        WriteNumberOrNull("temp_c", sample.TempC);
        WriteNumberOrNull("energy_mj", sample.EnergyMj);
        if (sample.Gpm is { } gpm)
        {
            _json.WriteStartObject("gpm");
            foreach (var metric in GpmMetricInfo.All)
            {
                WriteNumberOrNull(GpmMetricInfo.TraceName(metric), gpm[metric]);
            }

            _json.WriteEndObject();
        }
        else
        {
            _json.WriteNull("gpm");
        }

        WriteNumberOrNull("gpm_interval_s", sample.GpmIntervalS);
        _json.WriteStartArray("procs");
        foreach (var p in sample.Procs)
        {
            _json.WriteStartObject();
            _json.WriteNumber("pid", p.Pid);
            WriteNumberOrNull("used_mem_bytes", p.UsedMemBytes);
            WriteNumberOrNull("sm_pct", p.SmPct);
            WriteNumberOrNull("mem_pct", p.MemPct);
            _json.WriteEndObject();
        }

        _json.WriteEndArray();
        _json.WriteEndObject();
        EndLine();
    }

    public void Dispose()
    {
        _json.Dispose();
        _stream.Dispose();
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
        _json.WriteStartArray("ptx_entries");
        foreach (var entry in scan.PtxEntries)
        {
            _json.WriteStringValue(entry);
        }

        _json.WriteEndArray();
        WriteNumberOrNull("bytes_scanned", scan.BytesScanned);
        WriteNumberOrNull("seconds", scan.Seconds);
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

        WriteStringOrNull("truth_class", truth.Class);
        WriteStringOrNull("truth_workload", truth.Workload);
    }

    private void EndLine()
    {
        _json.Flush();
        _stream.WriteByte((byte)'\n');
        _stream.Flush();
        _json.Reset();
    }

    private void WriteStringOrNull(string name, string? value)
    {
        if (value is null)
        {
            _json.WriteNull(name);
        }
        else
        {
            _json.WriteString(name, value);
        }
    }

    private void WriteNumberOrNull(string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            _json.WriteNumber(name, v);
        }
        else
        {
            _json.WriteNull(name);
        }
    }

    private void WriteNumberOrNull(string name, long? value)
    {
        if (value is { } v)
        {
            _json.WriteNumber(name, v);
        }
        else
        {
            _json.WriteNull(name);
        }
    }

    private void WriteNumberOrNull(string name, int? value)
    {
        if (value is { } v)
        {
            _json.WriteNumber(name, v);
        }
        else
        {
            _json.WriteNull(name);
        }
    }
}
