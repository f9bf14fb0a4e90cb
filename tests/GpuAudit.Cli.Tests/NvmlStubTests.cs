using System.Diagnostics;

namespace GpuAudit.Cli.Tests;

[Trait("Category", "Integration")]
public sealed class NvmlStubTests(NvmlStubLibrary stub) : IClassFixture<NvmlStubLibrary>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-nvml-run-").FullName;
    private int _port;

    [ToolFact("gcc")]
    public void Record_writes_what_the_library_reports()
    {
        var trace = Path.Combine(_dir, "stub.jsonl");
        var log = Path.Combine(_dir, "calls.log");
        var (exitCode, output) = Gpuaudit(new() { ["NVML_STUB_LOG"] = log }, "record", "-o", trace, "--duration", "1.5", "--interval", "0.5", "--nvml-library", stub.Path);

        Assert.True(exitCode == 0, output);
        var recorded = RecordedTrace.Load(trace);
        var gpu = Assert.Single(recorded.Header.Gpus);
        Assert.Equal(new GpuDevice(0, "GPU-stub-0001", "Stub H100", "999.1.2", 85_520_809_984, true, "00000000:3B:00.0", false), gpu);
        Assert.Equal([4242, 4243], recorded.Processes.Select(p => p.Pid));
        Assert.InRange(recorded.Samples.Count, 2, 3); // 3 ticks in 1.5 s, unless a loaded machine skipped one

        var first = recorded.Samples[0];
        Assert.Equal((77, 33, 1_234_567_890L, 503_316_480L, 250_123L, 1980, 2619, 61, 987_654_321L), (first.UtilGpuPct, first.UtilMemPct, first.MemUsedBytes, first.MemReservedBytes, first.PowerMw, first.SmClockMhz, first.MemClockMhz, first.TempC, first.EnergyMj));

        // The driver keeps sampling: every poll gets pid 4242's averaged sample since the last one.
        Assert.All(recorded.Samples, s => Assert.Equal([new ProcessUsage(4242, 1L << 30, 91, 12), new ProcessUsage(4243, null, null, null)], s.Procs));

        // Which ticks get a GPM reading depends on live timing (0.5 s minimum spacing); their values do not.
        Assert.Contains(recorded.Samples, s => s.Gpm is not null);
        foreach (var gpm in recorded.Samples.Select(s => s.Gpm).OfType<GpmMetrics>())
        {
            Assert.Equal(6.0, gpm[GpmMetric.IntegerUtil]); // id 4
            Assert.Equal(90.0, gpm[GpmMetric.NvlinkTotalRxPerSec]); // id 60
            Assert.Null(gpm[GpmMetric.SmUtil]); // NaN
            Assert.Null(gpm[GpmMetric.NvlinkTotalTxPerSec]); // per-metric NOT_SUPPORTED
        }

        // What the library was handed: at least 72 utilization entries, the newest timestamp passed back, 16 metrics.
        var calls = File.ReadAllLines(log);
        var utilization = calls.Where(l => l.StartsWith("process_utilization", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(utilization);
        Assert.All(utilization, l => Assert.True(Field(l, "count_in") >= 72, l));
        Assert.Equal(0, Field(utilization[0], "last_seen"));
        Assert.All(utilization.Skip(1), l => Assert.True(Field(l, "last_seen") > 0, l));
        Assert.All(calls.Where(l => l.StartsWith("gpm_metrics", StringComparison.Ordinal)), l => Assert.Equal(16, Field(l, "num_metrics")));
    }

    [ToolFact("gcc")]
    public async Task Agent_serves_the_library_s_gpu_and_processes_on_metrics()
    {
        using var agent = StartAgent([]);

        var text = await Scrape(agent, body => body.Contains("gpuaudit_process_memory_used_bytes{", StringComparison.Ordinal));

        TextAssert.ContainsAll(
            text,
            "gpuaudit_gpu_info{uuid=\"GPU-stub-0001\",index=\"0\",name=\"Stub H100\",driver=\"999.1.2\",pci_bus_id=\"00000000:3B:00.0\"} 1",
            "gpuaudit_collector_up{uuid=\"GPU-stub-0001\"} 1",
            "gpuaudit_gpu_utilization_ratio{uuid=\"GPU-stub-0001\"} 0.77",
            "gpuaudit_gpu_memory_used_bytes{uuid=\"GPU-stub-0001\"} 1234567890",
            "gpuaudit_gpu_memory_reserved_bytes{uuid=\"GPU-stub-0001\"} 503316480",
            "pid=\"4242\"");
        Assert.False(agent.HasExited, agent.Output);
    }

    [ToolFact("gcc")]
    public void Doctor_reads_the_library_and_probes_what_the_agent_will_call()
    {
        var (exitCode, output) = Gpuaudit([], "doctor", "--nvml-library", stub.Path);

        Assert.Contains($"[ok]   library {stub.Path} loaded from {stub.Path}", output, StringComparison.Ordinal);
        TextAssert.ContainsAll(
            output,
            "[ok]   driver 999.1.2, 1 GPU(s)",
            "[warn] this driver lacks nvmlDeviceGetTemperatureV",
            "[ok]   GPU 0: Stub H100 GPU-stub-0001 00000000:3B:00.0",
            "[ok]   GPU 0: GPM metrics supported",
            "[ok]   GPU 0: 2 compute process(es) listed",
            "[ok]   GPU 0: per-process utilization works (1 sample(s) from the driver's buffer)");
        Assert.DoesNotContain("[FAIL] GPU", output, StringComparison.Ordinal);
        _ = exitCode; // /proc checks depend on this machine's processes
    }

    [ToolFact("gcc")]
    public void Doctor_reports_a_process_list_it_may_not_read()
    {
        var (_, output) = Gpuaudit(new() { ["NVML_STUB_FAULTS"] = "procs_no_permission" }, "doctor", "--nvml-library", stub.Path);

        TextAssert.ContainsAll(
            output,
            "[FAIL] GPU 0: the compute-process list cannot be read: NVML_ERROR_NO_PERMISSION",
            "fix: run as root or give the user access to /dev/nvidia*");
    }

    /// <summary>Must show (issue 14): a GPU in MIG mode yields per-instance samples, verdicts and series.</summary>
    [ToolFact("gcc")]
    public async Task A_gpu_in_mig_mode_yields_per_instance_samples_verdicts_and_series()
    {
        var environment = new Dictionary<string, string> { ["NVML_STUB_MIG"] = "1" };
        var trace = Path.Combine(_dir, "mig.jsonl");
        var (exitCode, output) = Gpuaudit(environment, "record", "-o", trace, "--duration", "2", "--interval", "0.5", "--nvml-library", stub.Path);
        Assert.True(exitCode == 0, output);
        var recorded = RecordedTrace.Load(trace);
        Assert.Equal(["GPU-stub-0001", "MIG-stub-gi1-ci0", "MIG-stub-gi2-ci0"], recorded.Header.Gpus.Select(g => g.Uuid));
        Assert.Equal(new MigInstance("GPU-stub-0001", 0, 1, 0), recorded.Header.Gpus[1].Mig);
        Assert.Equal(new MigInstance("GPU-stub-0001", 0, 2, 0), recorded.Header.Gpus[2].Mig);
        Assert.All(recorded.Samples.Where(s => s.Gpu == 0), s => Assert.Empty(s.Procs));
        Assert.All(recorded.Samples.Where(s => s.Gpu == 1), s => Assert.Equal(5001, Assert.Single(s.Procs).Pid));
        Assert.All(recorded.Samples.Where(s => s.Gpu == 2), s => Assert.Equal(5002, Assert.Single(s.Procs).Pid));
        Assert.Contains(recorded.Samples, s => s.Gpu == 1 && s.Gpm?[GpmMetric.IntegerUtil] == 93);
        Assert.Contains(recorded.Samples, s => s.Gpu == 2 && s.Gpm?[GpmMetric.AnyTensorUtil] > 20);

        using var agent = StartAgent(environment);
        var text = await Scrape(agent, body => body.Contains("gpuaudit_gpu_class{uuid=\"MIG-stub-gi1-ci0\",class=\"hash\"} 1", StringComparison.Ordinal)
            && body.Contains("gpuaudit_violation_active{", StringComparison.Ordinal)
            && body.Contains("gpuaudit_gpu_class{uuid=\"MIG-stub-gi2-ci0\"", StringComparison.Ordinal));

        TextAssert.ContainsAll(
            text,
            "gpuaudit_mig_instance_info{uuid=\"MIG-stub-gi1-ci0\",parent_uuid=\"GPU-stub-0001\",gpu_instance_id=\"1\",compute_instance_id=\"0\"} 1",
            "gpuaudit_mig_instance_info{uuid=\"MIG-stub-gi2-ci0\",parent_uuid=\"GPU-stub-0001\",gpu_instance_id=\"2\",compute_instance_id=\"0\"} 1");
        Assert.DoesNotContain("gpuaudit_gpu_class{uuid=\"MIG-stub-gi2-ci0\",class=\"hash\"}", text, StringComparison.Ordinal);
        TextAssert.ContainsAll(
            text,
            "gpuaudit_process_class{uuid=\"MIG-stub-gi1-ci0\",pid=\"5001\",comm=\"\",class=\"hash\"} 1",
            "gpuaudit_gpu_pipe_utilization_ratio{uuid=\"MIG-stub-gi1-ci0\",pipe=\"integer\"} 0.93",
            "gpuaudit_gpu_power_watts{uuid=\"GPU-stub-0001\"} 250.123");
        Assert.DoesNotContain("gpuaudit_gpu_class{uuid=\"GPU-stub-0001\"", text, StringComparison.Ordinal); // the parent's work is its instances'
        Assert.Contains("gpuaudit_violation_active{rule=\"hash_compute\",severity=\"critical\",uuid=\"MIG-stub-gi1-ci0\",pid=\"5001\"", text, StringComparison.Ordinal);
    }

    [ToolFact("gcc")]
    public async Task A_gpu_failing_at_start_up_is_exported_down_then_audited_when_it_answers_and_a_999_loses_one_field()
    {
        // GPU 1 stays lost until the test has seen it exported down: a fixed number of failed
        // lookups let a start-up slowed by load serve its first scrape after the GPU was back.
        var lost = Path.Combine(_dir, "gpu1-lost");
        File.WriteAllText(lost, string.Empty);
        using var agent = StartAgent(new() { ["NVML_STUB_GPUS"] = "2", ["NVML_STUB_FAULTS"] = "energy_unknown", ["NVML_STUB_GPU1_LOST"] = lost });

        // Polled at least once (the series start at 0 before the first poll), GPU 1 still failing.
        await Scrape(agent, body => body.Contains("gpuaudit_collector_up{uuid=\"unavailable-gpu-1\"} 0", StringComparison.Ordinal)
            && body.Contains("gpuaudit_collector_up{uuid=\"GPU-stub-0001\"} 1", StringComparison.Ordinal));
        File.Delete(lost);

        var back = await Scrape(agent, body => body.Contains("gpuaudit_collector_up{uuid=\"GPU-stub-0002\"} 1", StringComparison.Ordinal));
        Assert.DoesNotContain("unavailable-gpu-1", back, StringComparison.Ordinal);
        Assert.Contains("gpuaudit_gpu_info{uuid=\"GPU-stub-0002\",index=\"1\",name=\"Stub H100\"", back, StringComparison.Ordinal);
        Assert.Contains("can be read again after failing at start-up", agent.Output, StringComparison.Ordinal);

        // Energy answers 999 every poll: that field is missing and counted, the sample is not lost.
        Assert.Contains("gpuaudit_collector_errors_total{uuid=\"GPU-stub-0001\",function=\"nvmlDeviceGetTotalEnergyConsumption\",code=\"NVML_ERROR_UNKNOWN\"}", back, StringComparison.Ordinal);
        Assert.DoesNotContain("gpuaudit_gpu_energy_joules_total{", back, StringComparison.Ordinal);
        Assert.Contains("gpuaudit_gpu_power_watts{uuid=\"GPU-stub-0001\"} 250.123", back, StringComparison.Ordinal);
    }

    [ToolTheory("gcc")]
    [InlineData("procs_count=0x7fffffff", "2147483647 processes reported, above the cap of 4096")]
    [InlineData("procs_grow", "still INSUFFICIENT_SIZE")]
    [InlineData("procs_no_permission", "NVML_ERROR_NO_PERMISSION")]
    public async Task A_process_list_that_cannot_be_read_takes_the_gpu_out_of_collector_up_within_bounded_memory(string fault, string reason)
    {
        var log = Path.Combine(_dir, "calls.log");
        using var agent = StartAgent(new() { ["NVML_STUB_FAULTS"] = fault, ["NVML_STUB_LOG"] = log });

        var text = await Scrape(agent, body => body.Contains("gpuaudit_polls_total 4", StringComparison.Ordinal));

        Assert.False(agent.HasExited, agent.Output);
        Assert.Contains("gpuaudit_collector_up{uuid=\"GPU-stub-0001\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("gpuaudit_gpu_utilization_ratio{uuid=\"GPU-stub-0001\"} 0.77", text, StringComparison.Ordinal); // telemetry still flows
        Assert.DoesNotContain("gpuaudit_process_memory_used_bytes{", text, StringComparison.Ordinal);
        var buffers = File.ReadAllLines(log).Where(l => l.StartsWith("processes", StringComparison.Ordinal)).Select(l => Field(l, "count_in")).ToList();
        Assert.NotEmpty(buffers);
        Assert.All(buffers, b => Assert.InRange(b, 0, 4096));
        Assert.Equal(1, CountOccurrences(agent.Output, reason)); // warned once, not every poll
    }

    [ToolFact("gcc")]
    public async Task Without_a_driver_agent_and_record_print_one_line_with_the_fix_and_exit_2()
    {
        var environment = new Dictionary<string, string> { ["NVML_STUB_FAULTS"] = "driver_not_loaded" };
        foreach (var command in new[] { new[] { "agent", "--listen", $"127.0.0.1:{BackgroundProcess.FreePort()}", "--journal", Path.Combine(_dir, "j") }, ["record", "-o", Path.Combine(_dir, "t.jsonl")] })
        {
            var (exitCode, stdout, stderr) = await GpuAuditProcess.RunWithEnvironmentAsync(_dir, environment, [.. command, "--nvml-library", stub.Path]);

            Assert.Equal(2, exitCode);
            Assert.Equal(string.Empty, stdout);
            Assert.Equal(
                "gpuaudit: nvmlInit_v2 failed: NVML_ERROR_DRIVER_NOT_LOADED (the NVIDIA driver is not loaded): load the kernel module (modprobe nvidia) or install the NVIDIA driver; on a machine without a GPU, `gpuaudit demo` shows the auditor on real H100 recordings",
                stderr.TrimEnd('\n'));
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static (int ExitCode, string Output) Run(Dictionary<string, string> environment, string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"{program} did not exit within 2 minutes");
        return (process.ExitCode, stdout + stderr.Result);
    }

    private static long Field(string line, string name)
    {
        var start = line.IndexOf(name + "=", StringComparison.Ordinal) + name.Length + 1;
        var end = line.IndexOf(' ', start);
        return long.Parse(end < 0 ? line[start..] : line[start..end], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static int CountOccurrences(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private async Task<string> Scrape(BackgroundProcess agent, Func<string, bool> done)
    {
        var port = _port;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var text = await BackgroundProcess.WaitForAsync(
            async () =>
            {
                var body = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
                return done(body) ? body : null;
            },
            TimeSpan.FromSeconds(60));
        Assert.True(text is not null, "the agent never served what the test waits for:\n" + agent.Output);
        return text;
    }

    private static (int ExitCode, string Output) Gpuaudit(Dictionary<string, string> environment, params string[] arguments) =>
        Run(environment, "dotnet", [GpuAuditProcess.Dll, .. arguments]);

    private BackgroundProcess StartAgent(Dictionary<string, string> environment)
    {
        _port = BackgroundProcess.FreePort();
        return BackgroundProcess.StartGpuAudit(_dir, environment, "agent", "--nvml-library", stub.Path, "--listen", $"127.0.0.1:{_port}", "--interval", "0.5", "--journal", Path.Combine(_dir, "journal"), "--job-map", Path.Combine(_dir, "jobmap"), "--no-memory-scan");
    }
}
