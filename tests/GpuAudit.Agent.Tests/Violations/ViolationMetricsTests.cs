using GpuAudit.Agent.Exporters;
using GpuAudit.Agent.Tests.Journal;
using GpuAudit.Agent.Violations;
using GpuAudit.Core.Replay;
using Prometheus;

namespace GpuAudit.Agent.Tests.Violations;

public sealed class ViolationMetricsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task An_opened_violation_is_exported_and_vanishes_from_metrics_when_closed_and_allowed_findings_never_show()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new ViolationMetrics(new GpuAuditMetrics(registry));
        var open = Violation("v1");

        metrics.Publish(new PolicyResult([open, Violation("allowed") with { Pid = 9, AllowedBy = new Allowance([], "4242", null, null, null, "ok", 1) }], [], [open]));

        var exposition = await AgentFixtures.ExpositionAsync(registry);
        TextAssert.ContainsAll(
            exposition,
            "gpuaudit_violations_total{rule=\"hash_compute\",severity=\"critical\"} 1",
            "gpuaudit_violation_active{rule=\"hash_compute\",severity=\"critical\",uuid=\"GPU-x\",pid=\"776\",job_id=\"4242\"} 1");
        Assert.DoesNotContain("pid=\"9\"", exposition, StringComparison.Ordinal);

        metrics.Publish(new PolicyResult([], [open with { End = 50 }], []));

        Assert.DoesNotContain("gpuaudit_violation_active{", await AgentFixtures.ExpositionAsync(registry), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Diverted_seconds_count_up_per_gpu_and_job_from_zero_when_the_gpu_is_given_to_the_job()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new ViolationMetrics(new GpuAuditMetrics(registry));
        var device = new GpuDevice(0, "GPU-x", "NVIDIA H100 80GB HBM3", "580", 85520809984, true);
        TickAnalysis Tick(JobRef? job, params DivertedSeconds[] diverted) =>
            new(100, [new GpuView(device, null, new CollectorStatus(0, true), null, job, [])], [], new PolicyResult([], [], []) { Diverted = diverted });

        metrics.OnTick(Tick(new JobRef("4242", "gpu-map")), TimeSpan.Zero);
        Assert.Contains("gpuaudit_gpu_diverted_seconds_total{uuid=\"GPU-x\",job_id=\"4242\"} 0", await AgentFixtures.ExpositionAsync(registry), StringComparison.Ordinal);

        metrics.OnTick(Tick(new JobRef("4242", "gpu-map"), new DivertedSeconds(0, "GPU-x", "4242", 9.5)), TimeSpan.Zero);
        metrics.OnTick(Tick(new JobRef("4242", "gpu-map"), new DivertedSeconds(0, "GPU-x", "4242", 1)), TimeSpan.Zero);
        Assert.Contains("gpuaudit_gpu_diverted_seconds_total{uuid=\"GPU-x\",job_id=\"4242\"} 10.5", await AgentFixtures.ExpositionAsync(registry), StringComparison.Ordinal);

        // The GPU goes to another job: the old job's series goes, the new one starts at 0.
        metrics.OnTick(Tick(new JobRef("77", "gpu-map")), TimeSpan.Zero);
        var exposition = await AgentFixtures.ExpositionAsync(registry);
        Assert.DoesNotContain("job_id=\"4242\"", exposition, StringComparison.Ordinal);
        Assert.Contains("gpuaudit_gpu_diverted_seconds_total{uuid=\"GPU-x\",job_id=\"77\"} 0", exposition, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_mixed_trace_hash_violation_reaches_metrics_only_when_the_journal_holds_it(bool journalWorks)
    {
        var registry = Metrics.NewCustomRegistry();
        var journal = AuditJournal.Open(_dir.Path);
        var warnings = new List<string>();
        using var source = new TraceReplaySource([RepoPaths.Trace("mixed")], new ReplayOptions { Fast = true }, TimeProvider.System);
        var pipeline = new AuditPipeline(source.Devices, new RecordedInsightProvider(), new Job4242(), new PolicyEngine(AuditPolicy.Default, source.Node));

        // Listed before the journal sink on purpose: the runner still calls the journal first.
        var sinks = new IAnalysisSink[] { new ViolationMetrics(new GpuAuditMetrics(registry)), new ViolationJournalSink(journal, source.Node) };
        if (!journalWorks)
        {
            journal.Dispose();
        }

        await new AuditRunner(source, pipeline, sinks, TimeProvider.System, warnings.Add).RunAsync(CancellationToken.None);

        var exposition = await AgentFixtures.ExpositionAsync(registry);
        if (journalWorks)
        {
            Assert.Contains("gpuaudit_violation_active{rule=\"hash_compute\",severity=\"critical\",uuid=\"GPU-8dc927a2-2d2a-0eb2-59aa-7c156a06df4a\",pid=\"776\",job_id=\"4242\"} 1", exposition, StringComparison.Ordinal);
            Assert.Contains(journal.Violations("4242", 0, double.MaxValue), v => v.Rule == PolicyRule.HashCompute && v.Pid == 776);
            Assert.Empty(warnings);
            journal.Dispose();
        }
        else
        {
            Assert.DoesNotContain("gpuaudit_violation_active{", exposition, StringComparison.Ordinal);
            Assert.Contains(warnings, w => w.Contains("nothing of this tick is exported", StringComparison.Ordinal));
        }
    }

    public void Dispose() => _dir.Dispose();

    private static Violation Violation(string id) => AgentFixtures.HashViolation(id);

    private sealed class Job4242 : IGpuJobMap
    {
        public JobRef? JobFor(GpuDevice gpu) => new("4242", "gpu-map", "alice");
    }
}
