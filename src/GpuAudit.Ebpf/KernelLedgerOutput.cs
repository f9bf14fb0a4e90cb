using System.Globalization;
using System.Text.Json;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Json;
using GpuAudit.Core.Kernels;

namespace GpuAudit.Ebpf;

/// <summary>
/// What `gpuaudit kernels` prints: a table per process, or one JSON object per kernel per line.
/// Kernel and symbol names are the watched program's own text: every string passes the redactor.
/// </summary>
public static class KernelLedgerOutput
{
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
                output.WriteLine(JsonWriting.ToText(json => WriteKernel(json, process.Pid, kernel, inMemory), JsonWriting.Readable));
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

    private static void WriteKernel(Utf8JsonWriter json, int pid, KernelLaunches kernel, IReadOnlyDictionary<int, IReadOnlyList<string>> inMemory)
    {
        json.WriteStartObject();
        json.WriteNumber("pid", pid);
        json.WriteRedactedOrNull("kernel", kernel.Name);
        json.WriteRedactedOrNull("mangled", kernel.RawName);
        json.WriteString("name_source", kernel.NameSource == KernelNameSource.Lookup ? "lookup" : kernel.Graph ? "graph" : "none");
        json.WriteNumber("launches", kernel.Launches);
        json.WriteString("first_seen", kernel.FirstSeen.ToString("O", CultureInfo.InvariantCulture));
        json.WriteString("last_seen", kernel.LastSeen.ToString("O", CultureInfo.InvariantCulture));
        json.WriteStrings("entry_points", kernel.EntryPoints.Select(entry => SecretRedactor.RedactText(entry.Symbol())));
        json.WriteString("handle", "0x" + kernel.Handle.ToString("x", CultureInfo.InvariantCulture));
        json.WriteStrings("image_hash_constants", kernel.ImageHashAlgorithms);
        if (kernel.Name is null && !kernel.Graph && inMemory.TryGetValue(pid, out var names))
        {
            json.WriteStrings("in_memory", SecretRedactor.RedactLines(names));
        }

        json.WriteEndObject();
    }
}
