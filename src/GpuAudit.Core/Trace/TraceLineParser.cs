using System.Text.Json;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Trace;

/// <summary>
/// Parses single v1 lines with <see cref="Utf8JsonReader"/>: no DOM, one pass per line, so replay
/// and classification stay cheap on long traces. Errors name the field and what it should be.
/// </summary>
internal static class TraceLineParser
{
    public static string ReadKind(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        ExpectObject(ref reader);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isKind = reader.ValueTextEquals("kind"u8);
            reader.Read();
            if (isKind)
            {
                return reader.TokenType == JsonTokenType.String
                    ? reader.GetString()!
                    : throw new TraceLineException("field 'kind' must be a string");
            }

            reader.Skip();
        }

        throw new TraceLineException("line has no 'kind' field (expected \"header\", \"process\" or \"sample\")");
    }

    public static TraceHeader ParseHeader(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        ExpectObject(ref reader);
        string? kind = null, format = null, host = null, workload = null, description = null, truthClass = null, truthWorkload = null;
        int? version = null;
        double? interval = null;
        List<GpuDevice>? gpus = null;
        while (NextProperty(ref reader, out var name))
        {
            switch (name)
            {
                case "kind": kind = ReadString(ref reader, name); break;
                case "format": format = ReadString(ref reader, name); break;
                case "version": version = ReadInt(ref reader, name); break;
                case "host": host = ReadString(ref reader, name); break;
                case "workload": workload = ReadString(ref reader, name); break;
                case "description": description = ReadString(ref reader, name); break;
                case "interval_s": interval = ReadDouble(ref reader, name); break;
                case "truth_class": truthClass = ReadString(ref reader, name); break;
                case "truth_workload": truthWorkload = ReadString(ref reader, name); break;
                case "gpus": gpus = ReadGpus(ref reader); break;
                default: reader.Skip(); break;
            }
        }

        if (kind != "header")
        {
            throw new TraceLineException($"expected a header line, found kind '{kind ?? "(none)"}'");
        }

        if (format != TraceHeader.FormatName)
        {
            throw new TraceLineException($"header 'format' is '{format ?? "(none)"}', expected '{TraceHeader.FormatName}'");
        }

        if (version != TraceHeader.CurrentVersion)
        {
            throw new TraceLineException($"trace format version {version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"} is not supported; this build reads version {TraceHeader.CurrentVersion}");
        }

        if (gpus is null || gpus.Count == 0)
        {
            throw new TraceLineException("header has no 'gpus' list; it must name every GPU the samples refer to");
        }

        return new TraceHeader
        {
            Version = version.Value,
            Node = host,
            Workload = workload,
            Description = description,
            IntervalS = interval,
            Gpus = gpus,
            Truth = TruthOf(truthClass, truthWorkload),
        };
    }

    public static ProcessRecord ParseProcess(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        ExpectObject(ref reader);
        int? pid = null, ppid = null;
        long? startTicks = null;
        string? comm = null, exe = null, cmdline = null, cgroup = null, truthClass = null, truthWorkload = null;
        IReadOnlyList<string> libs = [];
        MemoryScanSummary? scan = null;
        while (NextProperty(ref reader, out var name))
        {
            switch (name)
            {
                case "pid": pid = ReadInt(ref reader, name); break;
                case "ppid": ppid = ReadInt(ref reader, name); break;
                case "start_ticks": startTicks = Long(ref reader, name); break;
                case "comm": comm = ReadString(ref reader, name); break;
                case "exe": exe = ReadString(ref reader, name); break;
                case "cmdline": cmdline = ReadString(ref reader, name); break;
                case "cgroup": cgroup = ReadString(ref reader, name); break;
                case "gpu_libs": libs = ReadStringList(ref reader, name); break;
                case "memory_scan": scan = ReadMemoryScan(ref reader); break;
                case "truth_class": truthClass = ReadString(ref reader, name); break;
                case "truth_workload": truthWorkload = ReadString(ref reader, name); break;
                default: reader.Skip(); break;
            }
        }

        return new ProcessRecord
        {
            Pid = pid ?? throw new TraceLineException("process line has no 'pid'"),
            Ppid = ppid,
            StartTicks = startTicks,
            Comm = comm,
            Exe = exe,
            Cmdline = cmdline,
            Cgroup = cgroup,
            GpuLibs = libs,
            MemoryScan = scan,
            Truth = TruthOf(truthClass, truthWorkload),
        };
    }

    public static GpuSample ParseSample(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        ExpectObject(ref reader);
        double? t = null, gpmInterval = null;
        int? gpu = null, utilGpu = null, utilMem = null, smClock = null, memClock = null, temp = null;
        long? memUsed = null, memReserved = null, power = null, energy = null;
        GpmMetrics? gpm = null;
        IReadOnlyList<ProcessUsage> procs = [];
        string? truthClass = null, truthWorkload = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            // Matching on the raw UTF-8 name avoids a string per field on the hottest path.
            if (reader.ValueTextEquals("t"u8)) { reader.Read(); t = Double(ref reader, "t"); }
            else if (reader.ValueTextEquals("gpu"u8)) { reader.Read(); gpu = Int(ref reader, "gpu"); }
            else if (reader.ValueTextEquals("util_gpu_pct"u8)) { reader.Read(); utilGpu = Int(ref reader, "util_gpu_pct"); }
            else if (reader.ValueTextEquals("util_mem_pct"u8)) { reader.Read(); utilMem = Int(ref reader, "util_mem_pct"); }
            else if (reader.ValueTextEquals("mem_used_bytes"u8)) { reader.Read(); memUsed = Long(ref reader, "mem_used_bytes"); }
            else if (reader.ValueTextEquals("mem_reserved_bytes"u8)) { reader.Read(); memReserved = Long(ref reader, "mem_reserved_bytes"); }
            else if (reader.ValueTextEquals("power_mw"u8)) { reader.Read(); power = Long(ref reader, "power_mw"); }
            else if (reader.ValueTextEquals("sm_clock_mhz"u8)) { reader.Read(); smClock = Int(ref reader, "sm_clock_mhz"); }
            else if (reader.ValueTextEquals("mem_clock_mhz"u8)) { reader.Read(); memClock = Int(ref reader, "mem_clock_mhz"); }
            else if (reader.ValueTextEquals("temp_c"u8)) { reader.Read(); temp = Int(ref reader, "temp_c"); }
            else if (reader.ValueTextEquals("energy_mj"u8)) { reader.Read(); energy = Long(ref reader, "energy_mj"); }
            else if (reader.ValueTextEquals("gpm"u8)) { reader.Read(); gpm = ReadGpm(ref reader); }
            else if (reader.ValueTextEquals("gpm_interval_s"u8)) { reader.Read(); gpmInterval = Double(ref reader, "gpm_interval_s"); }
            else if (reader.ValueTextEquals("procs"u8)) { reader.Read(); procs = ReadProcs(ref reader); }
            else if (reader.ValueTextEquals("truth_class"u8)) { reader.Read(); truthClass = Str(ref reader, "truth_class"); }
            else if (reader.ValueTextEquals("truth_workload"u8)) { reader.Read(); truthWorkload = Str(ref reader, "truth_workload"); }
            else { reader.Read(); reader.Skip(); }
        }

        return new GpuSample
        {
            Time = t ?? throw new TraceLineException("sample line has no 't' (Unix seconds)"),
            Gpu = gpu ?? throw new TraceLineException("sample line has no 'gpu' (index from the header)"),
            UtilGpuPct = utilGpu,
            UtilMemPct = utilMem,
            MemUsedBytes = memUsed,
            MemReservedBytes = memReserved,
            PowerMw = power,
            SmClockMhz = smClock,
            MemClockMhz = memClock,
            TempC = temp,
            EnergyMj = energy,
            Gpm = gpm,
            GpmIntervalS = gpmInterval,
            Procs = procs,
            Truth = TruthOf(truthClass, truthWorkload),
        };
    }

    private static GpmMetrics? ReadGpm(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new TraceLineException("field 'gpm' must be an object or null");
        }

        var gpm = new GpmMetrics();
        Span<char> name = stackalloc char[64];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var length = reader.CopyString(name);
            reader.Read();
            if (GpmMetricInfo.TryParseTraceName(name[..length], out var metric))
            {
                gpm.Set(metric, Double(ref reader, "gpm." + GpmMetricInfo.TraceName(metric)));
            }
            else
            {
                reader.Skip();
            }
        }

        return gpm;
    }

    private static IReadOnlyList<ProcessUsage> ReadProcs(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return [];
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new TraceLineException("field 'procs' must be a list of {pid, used_mem_bytes, sm_pct, mem_pct}");
        }

        var list = new List<ProcessUsage>(2);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new TraceLineException("each entry of 'procs' must be an object");
            }

            int? pid = null, sm = null, mem = null;
            long? used = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("pid"u8)) { reader.Read(); pid = Int(ref reader, "procs.pid"); }
                else if (reader.ValueTextEquals("used_mem_bytes"u8)) { reader.Read(); used = Long(ref reader, "procs.used_mem_bytes"); }
                else if (reader.ValueTextEquals("sm_pct"u8)) { reader.Read(); sm = Int(ref reader, "procs.sm_pct"); }
                else if (reader.ValueTextEquals("mem_pct"u8)) { reader.Read(); mem = Int(ref reader, "procs.mem_pct"); }
                else { reader.Read(); reader.Skip(); }
            }

            list.Add(new ProcessUsage(pid ?? throw new TraceLineException("an entry of 'procs' has no 'pid'"), used, sm, mem));
        }

        return list;
    }

    private static List<GpuDevice> ReadGpus(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new TraceLineException("header field 'gpus' must be a list");
        }

        var gpus = new List<GpuDevice>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new TraceLineException("each entry of header 'gpus' must be an object");
            }

            int? index = null;
            string? uuid = null, name = null, driver = null, pci = null;
            long? memTotal = null;
            bool gpm = false;
            bool? mig = null;
            MigInstance? instance = null;
            while (NextProperty(ref reader, out var field))
            {
                switch (field)
                {
                    case "index": index = ReadInt(ref reader, "gpus.index"); break;
                    case "uuid": uuid = ReadString(ref reader, "gpus.uuid"); break;
                    case "name": name = ReadString(ref reader, "gpus.name"); break;
                    case "driver": driver = ReadString(ref reader, "gpus.driver"); break;
                    case "pci_bus_id": pci = ReadString(ref reader, "gpus.pci_bus_id"); break;
                    case "mem_total_bytes": memTotal = Long(ref reader, "gpus.mem_total_bytes"); break;
                    case "gpm_supported": gpm = ReadBool(ref reader, "gpus.gpm_supported") ?? false; break;
                    case "mig_enabled": mig = ReadBool(ref reader, "gpus.mig_enabled"); break;
                    case "mig": instance = ReadMigInstance(ref reader); break;
                    default: reader.Skip(); break;
                }
            }

            var i = index ?? throw new TraceLineException("an entry of header 'gpus' has no 'index'");
            if (gpus.Exists(g => g.Index == i))
            {
                throw new TraceLineException($"header 'gpus' lists index {i} twice");
            }

            gpus.Add(new GpuDevice(
                i,
                uuid ?? throw new TraceLineException($"gpu {i} in header has no 'uuid'"),
                name ?? "unknown",
                driver ?? "unknown",
                memTotal,
                gpm,
                pci,
                mig,
                instance));
        }

        return gpus;
    }

    private static MigInstance? ReadMigInstance(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new TraceLineException("field 'gpus.mig' must be an object {parent_uuid, parent_index, gpu_instance_id, compute_instance_id} or null");
        }

        string? parent = null;
        int? parentIndex = null, gi = null, ci = null;
        while (NextProperty(ref reader, out var field))
        {
            switch (field)
            {
                case "parent_uuid": parent = ReadString(ref reader, "gpus.mig.parent_uuid"); break;
                case "parent_index": parentIndex = ReadInt(ref reader, "gpus.mig.parent_index"); break;
                case "gpu_instance_id": gi = ReadInt(ref reader, "gpus.mig.gpu_instance_id"); break;
                case "compute_instance_id": ci = ReadInt(ref reader, "gpus.mig.compute_instance_id"); break;
                default: reader.Skip(); break;
            }
        }

        return new MigInstance(
            parent ?? throw new TraceLineException("'gpus.mig' has no 'parent_uuid'"),
            parentIndex ?? throw new TraceLineException("'gpus.mig' has no 'parent_index'"),
            gi ?? throw new TraceLineException("'gpus.mig' has no 'gpu_instance_id'"),
            ci ?? throw new TraceLineException("'gpus.mig' has no 'compute_instance_id'"));
    }

    private static MemoryScanSummary? ReadMemoryScan(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new TraceLineException("field 'memory_scan' must be an object");
        }

        var hits = new Dictionary<string, ScanHitCount>(StringComparer.Ordinal);
        IReadOnlyList<string> entries = [];
        long? bytes = null;
        double? seconds = null;
        bool? truncated = null;
        while (NextProperty(ref reader, out var name))
        {
            switch (name)
            {
                case "hits":
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        throw new TraceLineException("field 'memory_scan.hits' must be an object");
                    }

                    while (NextProperty(ref reader, out var pattern))
                    {
                        long anon = 0, file = 0;
                        if (reader.TokenType != JsonTokenType.StartObject)
                        {
                            throw new TraceLineException($"field 'memory_scan.hits.{pattern}' must be an object {{anon, file}}");
                        }

                        while (NextProperty(ref reader, out var where))
                        {
                            var n = Long(ref reader, "memory_scan.hits." + pattern + "." + where) ?? 0;
                            if (where == "anon") { anon = n; }
                            else if (where == "file") { file = n; }
                        }

                        hits[pattern] = new ScanHitCount(anon, file);
                    }

                    break;
                case "ptx_entries": entries = ReadStringList(ref reader, "memory_scan.ptx_entries"); break;
                case "bytes_scanned": bytes = Long(ref reader, "memory_scan.bytes_scanned"); break;
                case "seconds": seconds = Double(ref reader, "memory_scan.seconds"); break;
                case "truncated": truncated = ReadBool(ref reader, "memory_scan.truncated"); break;
                default: reader.Skip(); break;
            }
        }

        return new MemoryScanSummary { Hits = hits, PtxEntries = entries, BytesScanned = bytes, Seconds = seconds, Truncated = truncated };
    }

    private static Truth? TruthOf(string? truthClass, string? workload) =>
        truthClass is null && workload is null ? null : new Truth(truthClass, workload);

    private static void ExpectObject(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new TraceLineException("a line must be one JSON object");
        }
    }

    /// <summary>Moves to the next property's value; false at the end of the object.</summary>
    private static bool NextProperty(ref Utf8JsonReader reader, out string name)
    {
        if (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            name = reader.GetString()!;
            reader.Read();
            return true;
        }

        name = string.Empty;
        return false;
    }

    private static string? ReadString(ref Utf8JsonReader reader, string name) => Str(ref reader, name);

    private static int? ReadInt(ref Utf8JsonReader reader, string name) => Int(ref reader, name);

    private static double? ReadDouble(ref Utf8JsonReader reader, string name) => Double(ref reader, name);

    private static bool? ReadBool(ref Utf8JsonReader reader, string name) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        JsonTokenType.Null => null,
        _ => throw WrongType(name, "true or false", reader.TokenType),
    };

    private static string? Str(ref Utf8JsonReader reader, string name) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Null => null,
        _ => throw WrongType(name, "a string", reader.TokenType),
    };

    private static IReadOnlyList<string> ReadStringList(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return [];
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw WrongType(name, "a list of strings", reader.TokenType);
        }

        var list = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            list.Add(Str(ref reader, name) ?? throw new TraceLineException($"field '{name}' holds a null entry"));
        }

        return list;
    }

    private static double? Double(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            // NaN written as a string by some recorders means "missing", as the format says.
            if (reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("NaN"u8))
            {
                return null;
            }

            throw WrongType(name, "a number", reader.TokenType);
        }

        return reader.GetDouble();
    }

    private static int? Int(ref Utf8JsonReader reader, string name)
    {
        if (Double(ref reader, name) is not { } v)
        {
            return null;
        }

        if (v != Math.Floor(v) || v < int.MinValue || v > int.MaxValue)
        {
            throw new TraceLineException($"field '{name}' must be a whole number, got {v.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }

        return (int)v;
    }

    private static long? Long(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var exact))
        {
            return exact;
        }

        if (Double(ref reader, name) is not { } v)
        {
            return null;
        }

        if (v != Math.Floor(v) || v < long.MinValue || v > long.MaxValue)
        {
            throw new TraceLineException($"field '{name}' must be a whole number, got {v.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }

        return (long)v;
    }

    private static TraceLineException WrongType(string name, string expected, JsonTokenType actual) =>
        new($"field '{name}' must be {expected}, got {Describe(actual)}");

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "a list",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };
}
