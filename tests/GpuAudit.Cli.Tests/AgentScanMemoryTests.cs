using System.Globalization;

namespace GpuAudit.Cli.Tests;

/// <summary>
/// The agent against a process that holds 64 MiB of bare EM_CUDA headers (and one header claiming
/// 255 MiB) in front of a real NVRTC-compiled SHA-256 kernel: it finds the kernel and its memory
/// stays far inside the systemd unit's <c>MemoryMax</c> (deploy/systemd/gpuaudit.service, 512M).
/// The NVML stand-in reports pid 4242 on its GPU; the agent reads a procfs root in which 4242 is a
/// link to the live holder process.
/// </summary>
[Trait("Category", "Integration")]
public sealed class AgentScanMemoryTests : IDisposable
{
    private const long MemoryMaxBytes = 512L << 20;
    private readonly string dir = Directory.CreateTempSubdirectory("gpuaudit-agent-scan-").FullName;

    [ToolFact("gcc", "python3", "/usr/lib/x86_64-linux-gnu/libnvrtc.so.11.2")]
    public async Task Agent_finds_the_kernel_behind_a_heap_of_crafted_headers_and_stays_inside_its_memory_max()
    {
        var library = Path.Combine(dir, "libnvidia-ml.so.1");
        using (var gcc = BackgroundProcess.Start("gcc", dir, ["-shared", "-fPIC", "-O1", "-o", library, Path.Combine(AppContext.BaseDirectory, "NvmlStub", "libnvidia-ml-stub.c"), "-lm"]))
        {
            Assert.True(await BackgroundProcess.WaitForAsync(() => Task.FromResult(gcc.HasExited ? "done" : null), TimeSpan.FromSeconds(60)) is not null, "gcc did not finish within 60 s:\n" + gcc.Output);
        }

        using var holder = new InspectGpuCodeTests.HolderProcess(
            Path.Combine(AppContext.BaseDirectory, "Scripts", "gpu_code_holder.py"),
            ["headers", "64", Path.Combine(AppContext.BaseDirectory, "Kernels", "sha256_table.cu")]);
        var procRoot = Directory.CreateDirectory(Path.Combine(dir, "proc")).FullName;
        File.CreateSymbolicLink(Path.Combine(procRoot, "4242"), "/proc/" + holder.Id.ToString(CultureInfo.InvariantCulture));
        File.CreateSymbolicLink(Path.Combine(procRoot, "stat"), "/proc/stat");

        var port = BackgroundProcess.FreePort();
        using var agent = BackgroundProcess.StartGpuAudit(dir, "agent", "--nvml-library", library, "--listen", $"127.0.0.1:{port}", "--interval", "0.5", "--proc-root", procRoot, "--journal", Path.Combine(dir, "journal"), "--job-map", Path.Combine(dir, "jobmap"));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        long peak = 0;
        var text = await BackgroundProcess.WaitForAsync(
            async () =>
            {
                peak = Math.Max(peak, PeakResidentBytes(agent.Id));
                var body = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
                // Evidence from the scan itself (the stand-in's counters alone could also look like hashing).
                return body.Contains("gpuaudit_violation_active{rule=\"hash_compute\"", StringComparison.Ordinal) && body.Contains("pid=\"4242\"", StringComparison.Ordinal)
                    && EvidenceCount(body, "hash_constant_in_gpu_code") > 0 ? body : null;
            },
            TimeSpan.FromSeconds(90));

        Assert.True(text is not null, "the agent never opened a hash_compute violation for pid 4242:\n" + agent.Output);

        // A few more polls after the scan, then the kernel's high-water mark of the agent's RSS.
        await Task.Delay(TimeSpan.FromSeconds(3));
        peak = Math.Max(peak, PeakResidentBytes(agent.Id));
        Assert.False(agent.HasExited, agent.Output);
        Assert.True(peak < MemoryMaxBytes / 2, $"the agent peaked at {peak >> 20} MiB (MemoryMax {MemoryMaxBytes >> 20} MiB)");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"agent scanning 64 MiB of bare headers + a SHA-256 cubin: peak RSS {peak >> 20} MiB"));
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static double EvidenceCount(string exposition, string kind)
    {
        var prefix = "gpuaudit_evidence_total{kind=\"" + kind + "\"} ";
        var line = exposition.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[prefix.Length..], CultureInfo.InvariantCulture);
    }

    // VmHWM: the process's peak resident set so far, kept by the kernel.
    private static long PeakResidentBytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
