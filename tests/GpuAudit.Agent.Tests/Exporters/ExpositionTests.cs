using System.Diagnostics;
using System.Text;
using GpuAudit.Agent.Exporters;
using GpuAudit.Core.Replay;
using Prometheus;

namespace GpuAudit.Agent.Tests.Exporters;

public class ExpositionTests
{
    private static readonly DateTimeOffset Wall = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    [Fact]
    public async Task The_mixed_trace_exposes_both_processes_as_separate_series()
    {
        var text = await Expose(["mixed"], until: 15);

        TextAssert.ContainsAll(
            text,
            "gpuaudit_process_memory_used_bytes{uuid=\"GPU-8dc927a2-2d2a-0eb2-59aa-7c156a06df4a\",pid=\"775\",comm=\"python3\"}",
            "gpuaudit_process_memory_used_bytes{uuid=\"GPU-8dc927a2-2d2a-0eb2-59aa-7c156a06df4a\",pid=\"776\",comm=\"python3\"}",
            "gpuaudit_process_sm_utilization_ratio{uuid=\"GPU-8dc927a2-2d2a-0eb2-59aa-7c156a06df4a\",pid=\"776\"",
            "gpuaudit_gpu_pipe_utilization_ratio{uuid=\"GPU-8dc927a2-2d2a-0eb2-59aa-7c156a06df4a\",pipe=\"integer\"}",
            "gpuaudit_gpu_power_watts{uuid=\"GPU-8dc927a2-2d2a-0eb2-59aa-7c156a06df4a\"}",
            "gpuaudit_collector_last_success_timestamp_seconds{uuid=\"GPU-8dc927a2-2d2a-0eb2-59aa-7c156a06df4a\"} 1800000000");
    }

    [Fact]
    public async Task Process_series_vanish_when_the_process_leaves_the_gpu()
    {
        // At the end of the hash trace its one process has exited; mid-trace it is there.
        var during = await Expose(["hash_sha256"], until: 8);
        var after = await Expose(["hash_sha256"], until: null);

        Assert.Contains("pid=\"655\"", during, StringComparison.Ordinal);
        Assert.DoesNotContain("pid=\"655\"", after, StringComparison.Ordinal);
        Assert.DoesNotContain(after.Split('\n'), l => l.StartsWith("gpuaudit_process_", StringComparison.Ordinal) && !l.StartsWith("gpuaudit_process_series_dropped_total", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_gpu_whose_collector_fails_reports_down_and_keeps_its_last_success_time()
    {
        var metrics = new GpuAuditMetrics(Metrics.NewCustomRegistry());
        var device = new GpuDevice(0, "GPU-x", "H100", "580", 1, true);
        var clock = new FakeTimeProvider(Wall);
        var exporter = new PrometheusExporter(metrics, [device], TimeSpan.FromSeconds(1), clock);
        var sample = new GpuSample { Time = 1, Gpu = 0, UtilGpuPct = 50 };
        exporter.OnTick(new TickAnalysis(1, [new GpuView(device, sample, new CollectorStatus(0, true), null, null, [])], [], PolicyResult.None), TimeSpan.Zero);
        clock.Advance(TimeSpan.FromSeconds(1));
        exporter.OnTick(new TickAnalysis(2, [new GpuView(device, null, new CollectorStatus(0, false, "GPU is lost"), null, null, [])], [], PolicyResult.None), TimeSpan.Zero);

        var text = await AgentFixtures.ExpositionAsync(metrics.Registry);

        TextAssert.ContainsAll(
            text,
            "gpuaudit_collector_up{uuid=\"GPU-x\"} 0",
            "gpuaudit_collector_last_success_timestamp_seconds{uuid=\"GPU-x\"} 1800000000\n");
    }

    [Fact]
    public async Task The_scheduler_job_is_the_job_id_label_and_no_series_carries_a_job_label()
    {
        // Prometheus owns `job` (the scrape job): a served `job` label would be renamed exported_job.
        var text = await Expose(["mixed"], until: 15, new FixedJobMap(new JobRef("4242", "gpu-map", "alice")));

        TextAssert.ContainsAll(
            text,
            "gpuaudit_gpu_job_info{uuid=\"GPU-8dc927a2-2d2a-0eb2-59aa-7c156a06df4a\",job_id=\"4242\",user=\"alice\"} 1",
            ",job_id=\"4242\",exe=");
        Assert.DoesNotContain("{job=", text, StringComparison.Ordinal);
        Assert.DoesNotContain(",job=", text, StringComparison.Ordinal);
    }

    [ToolFact("promtool")]
    [Trait("Category", "Integration")]
    public async Task The_exposition_passes_promtool_check_metrics()
    {
        var text = await Expose(["mixed", "train_transformer", "hash_sha256"], until: 15);

        var (code, output) = await RunPromtool(text);

        Assert.True(code == 0 && output.Trim().Length == 0, $"promtool check metrics failed ({code}):\n{output}");
    }

    [Fact]
    public async Task The_exposition_matches_the_golden_file()
    {
        var text = await Expose(["mixed"], until: 15);

        // The build's version and commit change with every commit; the golden file holds placeholders.
        var stable = System.Text.RegularExpressions.Regex.Replace(text, "^gpuaudit_build_info\\{.*\\} 1$", "gpuaudit_build_info{version=\"V\",revision=\"R\",dotnet_version=\"D\"} 1", System.Text.RegularExpressions.RegexOptions.Multiline);
        Golden.AssertMatches("tests/GpuAudit.Agent.Tests/Exporters/golden/mixed-until-15.prom", stable);
    }

    internal static async Task<string> Expose(string[] traces, double? until, IGpuJobMap? jobs = null, PrometheusExporterOptions? options = null)
    {
        var metrics = new GpuAuditMetrics(Metrics.NewCustomRegistry());
        using var source = new TraceReplaySource([.. traces.Select(RepoPaths.Trace)], new ReplayOptions { Fast = true, UntilSeconds = until }, TimeProvider.System);
        var exporter = new PrometheusExporter(metrics, source.Devices, TimeSpan.FromSeconds(1), new FakeTimeProvider(Wall), options);
        var runner = new AuditRunner(source, new AuditPipeline(source.Devices, new RecordedInsightProvider(), jobs ?? NoJobMap.Instance, new PolicyEngine(AuditPolicy.Default, source.Node)), [new FixedDurationSink(exporter)], TimeProvider.System);
        await runner.RunAsync(CancellationToken.None);
        return await AgentFixtures.ExpositionAsync(metrics.Registry);
    }

    private static async Task<(int Code, string Output)> RunPromtool(string exposition)
    {
        var promtool = ToolRequirement.Find("promtool")
            ?? throw new InvalidOperationException("promtool not found: install the Debian package 'prometheus' (the README's test command does)");
        using var process = Process.Start(new ProcessStartInfo(promtool, "check metrics")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        await process.StandardInput.WriteAsync(exposition);
        process.StandardInput.Close();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var output = await process.StandardOutput.ReadToEndAsync(deadline.Token) + await process.StandardError.ReadToEndAsync(deadline.Token);
        await process.WaitForExitAsync(deadline.Token);
        return (process.ExitCode, output);
    }

    private sealed class FixedJobMap(JobRef job) : IGpuJobMap
    {
        public JobRef? JobFor(GpuDevice gpu) => job;
    }

    /// <summary>Poll duration is wall time; golden files need it fixed.</summary>
    private sealed class FixedDurationSink(IAnalysisSink inner) : IAnalysisSink
    {
        public void OnTick(TickAnalysis analysis, TimeSpan pollDuration) => inner.OnTick(analysis, TimeSpan.FromMilliseconds(0.25));
    }
}
