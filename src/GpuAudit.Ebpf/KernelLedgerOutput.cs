using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Kernels;

namespace GpuAudit.Ebpf;

/// <summary>
/// What `gpuaudit kernels` prints: a table per process, or one JSON object per kernel per line.
/// Kernel and symbol names are the watched program's own text: every string passes the redactor.
/// </summary>
public static class KernelLedgerOutput
{
    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// One line per kernel: pid, kernel (demangled; null when no lookup named it), mangled,
    /// name_source, launches, first_seen, last_seen, entry_points, handle, image_hash_constants;
    /// unnamed rows also carry in_memory (kernel names the memory scan found in that process).
    /// </summary>
    public static void WriteJsonLines(TextWriter output, IEnumerable<ProcessKernels> processes, IReadOnlyDictionary<int, IReadOnlyList<string>> inMemory)
    {
        foreach (var process in processes.OrderBy(p => p.Pid))
        {
            foreach (var kernel in process.Kernels)
            {
                using var stream = new MemoryStream();
                using (var json = new Utf8JsonWriter(stream, Compact))
                {
                    json.WriteStartObject();
                    json.WriteNumber("pid", process.Pid);
                    WriteStringOrNull(json, "kernel", kernel.Name);
                    WriteStringOrNull(json, "mangled", kernel.RawName);
                    json.WriteString("name_source", kernel.NameSource == KernelNameSource.Lookup ? "lookup" : kernel.Graph ? "graph" : "none");
                    json.WriteNumber("launches", kernel.Launches);
                    json.WriteString("first_seen", kernel.FirstSeen.ToString("O", CultureInfo.InvariantCulture));
                    json.WriteString("last_seen", kernel.LastSeen.ToString("O", CultureInfo.InvariantCulture));
                    json.WriteStartArray("entry_points");
                    foreach (var entry in kernel.EntryPoints)
                    {
                        json.WriteStringValue(SecretRedactor.RedactText(entry.Symbol()));
                    }

                    json.WriteEndArray();
                    json.WriteString("handle", "0x" + kernel.Handle.ToString("x", CultureInfo.InvariantCulture));
                    json.WriteStartArray("image_hash_constants");
                    foreach (var algorithm in kernel.ImageHashAlgorithms)
                    {
                        json.WriteStringValue(algorithm);
                    }

                    json.WriteEndArray();
                    if (kernel.Name is null && !kernel.Graph && inMemory.TryGetValue(process.Pid, out var names))
                    {
                        json.WriteStartArray("in_memory");
                        foreach (var name in names)
                        {
                            json.WriteStringValue(SecretRedactor.RedactText(name));
                        }

                        json.WriteEndArray();
                    }

                    json.WriteEndObject();
                }

                output.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
            }
        }
    }

    /// <summary>Per process: a header line, then launches, first and last seen and the kernel, most launched first.</summary>
    public static void WriteText(TextWriter output, IEnumerable<ProcessKernels> processes, IReadOnlyDictionary<int, IReadOnlyList<string>> inMemory, Func<int, string?> comm)
    {
        foreach (var process in processes.OrderBy(p => p.Pid))
        {
            var name = comm(process.Pid) is { } c ? $" ({SecretRedactor.RedactText(c)})" : string.Empty;
            output.WriteLine($"pid {process.Pid}{name}: {process.TotalLaunches} launches of {process.Kernels.Count} kernel(s), {process.Modules.Count} module load(s) seen");
            if (process.Kernels.Count > 0)
            {
                output.WriteLine($"  {"LAUNCHES",10}  {"FIRST SEEN",-20}  {"LAST SEEN",-20}  KERNEL");
            }

            foreach (var kernel in process.Kernels)
            {
                var hashes = kernel.ImageHashAlgorithms is { Count: > 0 } h ? "  [image holds " + string.Join(", ", h) + " constants]" : string.Empty;
                output.WriteLine($"  {kernel.Launches,10}  {Time(kernel.FirstSeen),-20}  {Time(kernel.LastSeen),-20}  {SecretRedactor.RedactText(kernel.DisplayName)}{hashes}");
            }

            if (process.UnnamedLaunches > 0)
            {
                output.WriteLine($"  {process.UnnamedLaunches} launches of handles looked up before the ledger attached (names unknown)"
                    + (inMemory.TryGetValue(process.Pid, out var names) && names.Count > 0
                        ? "; kernels in its memory (scan): " + SecretRedactor.RedactText(string.Join(", ", names.Take(16).Select(KernelNames.Demangle))) + (names.Count > 16 ? ", ..." : string.Empty)
                        : string.Empty));
            }

            if (process.EventsDropped > 0)
            {
                output.WriteLine($"  {process.EventsDropped} lookups/loads past its per-process budget were not recorded");
            }
        }
    }

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static void WriteStringOrNull(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, SecretRedactor.RedactText(value));
        }
    }
}
