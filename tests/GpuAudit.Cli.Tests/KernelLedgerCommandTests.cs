using System.Globalization;
using System.Text.Json;
using GpuAudit.Ebpf.Tests;

namespace GpuAudit.Cli.Tests;

/// <summary>
/// The kernel ledger's must-shows, through the real executable, real uprobes and the stand-in
/// libcuda: `gpuaudit kernels` against a program using both lookup APIs at about 1 kHz, and the
/// agent (NVML stand-in) with such a program on its GPU.
/// </summary>
[Trait("Category", "Integration")]
public sealed class KernelLedgerCommandTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-kernels-cli-").FullName;

    [EbpfFact]
    public async Task Kernels_started_first_reports_both_lookup_apis_with_the_program_s_counts()
    {
        var go = Path.Combine(_dir, "go");
        using var launcher = CudaStubPrograms.Start(["--go", go, "--count", "2000", "--rate", "1000", "module:vector_add", "library:_Z10reduce_sumPfS_i"]);
        using var kernels = BackgroundProcess.StartGpuAudit(_dir, "kernels", "--pid", launcher.Pid.ToString(CultureInfo.InvariantCulture), "--duration", "60", "--json");

        Assert.True(await BackgroundProcess.WaitForAsync(() => Task.FromResult(kernels.Output.Contains("probes on", StringComparison.Ordinal) ? "attached" : null), Timeout) is not null, "the ledger never attached:\n" + kernels.Output);
        File.WriteAllText(go, string.Empty);
        var own = launcher.WaitForCounts(Timeout);
        // It ends by itself when the process it counts exits.
        Assert.True(await BackgroundProcess.WaitForAsync(() => Task.FromResult(kernels.HasExited ? "exited" : null), Timeout) is not null, "kernels did not end with its pid:\n" + kernels.Output);

        var rows = kernels.Output.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, rows.Count);
        foreach (var (kernel, mangled) in new[] { ("vector_add", "vector_add"), ("reduce_sum(float*, float*, int)", "_Z10reduce_sumPfS_i") })
        {
            var row = Assert.Single(rows, r => r.GetProperty("kernel").GetString() == kernel);
            Assert.Equal(launcher.Pid, row.GetProperty("pid").GetInt32());
            Assert.Equal(mangled, row.GetProperty("mangled").GetString());
            Assert.Equal("lookup", row.GetProperty("name_source").GetString());
            var counted = row.GetProperty("launches").GetInt64();
            Assert.InRange(counted, own[mangled] * 0.9, own[mangled] * 1.1);
        }
    }

    [EbpfFact]
    public async Task A_process_that_looked_up_before_kernels_started_gets_counts_and_the_names_its_memory_holds()
    {
        var go = Path.Combine(_dir, "go-early");
        // Paced (5 s): its memory is scanned for names while it runs.
        using var launcher = CudaStubPrograms.Start(["--early", "--go", go, "--count", "500", "--rate", "100", "module:looked_up_early"]);
        using var kernels = BackgroundProcess.StartGpuAudit(_dir, "kernels", "--pid", launcher.Pid.ToString(CultureInfo.InvariantCulture), "--duration", "60", "--json");
        Assert.True(await BackgroundProcess.WaitForAsync(() => Task.FromResult(kernels.Output.Contains("probes on", StringComparison.Ordinal) ? "attached" : null), Timeout) is not null, kernels.Output);
        File.WriteAllText(go, string.Empty);
        launcher.WaitForCounts(Timeout);
        Assert.True(await BackgroundProcess.WaitForAsync(() => Task.FromResult(kernels.HasExited ? "exited" : null), Timeout) is not null, kernels.Output);

        var row = JsonDocument.Parse(Assert.Single(kernels.Output.Split('\n'), l => l.StartsWith('{'))).RootElement;
        Assert.Equal(JsonValueKind.Null, row.GetProperty("kernel").ValueKind);
        Assert.Equal(("none", 500L), (row.GetProperty("name_source").GetString(), row.GetProperty("launches").GetInt64()));
        Assert.Contains("looked_up_early", row.GetProperty("in_memory").EnumerateArray().Select(n => n.GetString()));
    }

    [EbpfFact]
    public async Task Agent_shows_launches_on_metrics_top_kernels_in_journal_and_report_and_a_launched_miner_kernel_opens_miner_identity()
    {
        var nvml = Path.Combine(_dir, "libnvidia-ml.so.1");
        var (code, output) = CudaStubPrograms.Run("gcc", "-shared", "-fPIC", "-O1", "-o", nvml, Path.Combine(AppContext.BaseDirectory, "NvmlStub", "libnvidia-ml-stub.c"), "-lm");
        Assert.True(code == 0, output);
        var jobMap = Directory.CreateDirectory(Path.Combine(_dir, "jobmap")).FullName;
        File.WriteAllText(Path.Combine(jobMap, "0"), "7301 0\n");
        var journal = Path.Combine(_dir, "journal");
        var go = Path.Combine(_dir, "go");
        using var launcher = CudaStubPrograms.Start(["--go", go, "--count", "4000", "--rate", "1000", "module:ethash_search", "library:_Z9sgemm_f32PfS_S_i"]);
        var port = BackgroundProcess.FreePort();
        var processes = Path.Combine(_dir, "gpu0-processes");
        File.WriteAllText(processes, launcher.Pid.ToString(CultureInfo.InvariantCulture) + " train\n");
        using var agent = BackgroundProcess.StartGpuAudit(
            _dir,
            new Dictionary<string, string> { ["NVML_STUB_PROCESSES"] = processes },
            "agent", "--nvml-library", nvml, "--listen", $"127.0.0.1:{port}", "--interval", "0.5", "--journal", journal, "--job-map", jobMap);
        Assert.True(await BackgroundProcess.WaitForAsync(() => Task.FromResult(agent.Output.Contains($"seen in pid {launcher.Pid}", StringComparison.Ordinal) ? "attached" : null), Timeout) is not null, "the agent's ledger never attached:\n" + agent.Output);
        File.WriteAllText(go, string.Empty);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var pid = $"pid=\"{launcher.Pid}\"";
        var metrics = await BackgroundProcess.WaitForAsync(
            async () =>
            {
                var body = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
                return body.Contains("gpuaudit_violation_active{rule=\"miner_identity\"", StringComparison.Ordinal) && LaunchCount(body, pid) >= 1000 ? body : null;
            },
            Timeout);
        Assert.True(metrics is not null, "no launches or miner_identity on /metrics:\n" + agent.Output);
        Assert.Contains("gpuaudit_kernel_ledger_up 1", metrics, StringComparison.Ordinal);
        Assert.Contains($"gpuaudit_violation_active{{rule=\"miner_identity\",severity=\"critical\",uuid=\"GPU-stub-0001\",{pid},job_id=\"7301\"}} 1", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("ethash_search\"", metrics, StringComparison.Ordinal); // kernel names are never labels

        var own = launcher.WaitForCounts(Timeout);
        var total = own.Values.Sum();
        Assert.True(await BackgroundProcess.WaitForAsync(async () => LaunchCount(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics")), pid) == total ? "all" : null, Timeout) is not null, $"the counter never reached the program's {total} launches");
        agent.Stop(Timeout);
        Assert.True(agent.HasExited, "agent did not stop on SIGTERM");

        var (exit, report, errors) = await GpuAuditProcess.RunAsync(_dir, "report", "--job", "7301", "--journal", journal, "--format", "json");
        Assert.True(exit == 0, errors);
        var kernels = JsonDocument.Parse(report).RootElement.GetProperty("kernels").EnumerateArray().ToList();
        Assert.Equal(["ethash_search", "sgemm_f32(float*, float*, float*, int)"], kernels.Select(k => k.GetProperty("kernel").GetString()).Order(StringComparer.Ordinal));
        Assert.All(kernels, k => Assert.Equal(own["ethash_search"], k.GetProperty("launches").GetInt64()));
        var violations = JsonDocument.Parse(report).RootElement.GetProperty("violations").EnumerateArray();
        Assert.Contains(violations, v => v.GetProperty("rule").GetString() == "miner_identity"
            && v.GetProperty("evidence").EnumerateArray().Any(e => e.GetString()!.StartsWith("miner_kernel_launched: launched miner kernels: ethash_search", StringComparison.Ordinal)));

        (exit, report, errors) = await GpuAuditProcess.RunAsync(_dir, "report", "--job", "7301", "--journal", journal, "--format", "md");
        Assert.True(exit == 0, errors);
        Assert.Contains("## Kernels launched", report, StringComparison.Ordinal);
        Assert.Contains($"| {launcher.Pid} | launcher | ethash_search | {own["ethash_search"]} |", report, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static long LaunchCount(string exposition, string pid)
    {
        var line = exposition.Split('\n').FirstOrDefault(l => l.StartsWith("gpuaudit_process_kernel_launches_total{", StringComparison.Ordinal) && l.Contains(pid, StringComparison.Ordinal));
        return line is null ? 0 : (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }
}
