using GpuAudit.Agent.Exporters;
using GpuAudit.Agent.Journal;
using GpuAudit.Agent.Reporting;
using GpuAudit.Agent.Tests.Journal;
using GpuAudit.Agent.Violations;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Summaries;
using GpuAudit.Core.Trace;
using GpuAudit.Tests;
using Prometheus;

namespace GpuAudit.Agent.Tests.Violations;

public sealed class AuditTrailSinkTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public void Mixed_trace_through_the_sink_leaves_the_violation_and_the_minutes_in_the_journal()
    {
        using var journal = AuditJournal.Open(_dir.Path);
        using (var sink = new AuditTrailSink(AuditPolicy.Default, "h100-probe", journal, new ViolationMetrics(new GpuAuditMetrics(Metrics.NewCustomRegistry())), AuditTrailSink.DefaultRetention))
        {
            foreach (var tick in TruthTicks.From(RecordedTrace.Load(RepoPaths.Trace("mixed")), new JobRef("4242", "gpu-map", "alice")))
            {
                sink.OnTick(tick, TimeSpan.Zero);
            }

            Assert.Equal(776, Assert.Single(sink.Active).Pid);
        }

        using var reader = JournalReader.Open(_dir.Path);
        var report = new JournalReportSource(reader).Build("4242");
        Assert.Equal(PolicyRule.HashCompute, Assert.Single(report.Violations).Rule);
        Assert.Equal(25, report.GpuSeconds[WorkloadClass.Mixed], 3);
    }

    [Fact]
    public void Rows_older_than_the_retention_are_pruned_by_tick_time()
    {
        using var journal = AuditJournal.Open(_dir.Path);
        var ticks = TruthTicks.From(RecordedTrace.Load(RepoPaths.Trace("idle")), new JobRef("7", "gpu-map")).ToList();
        using (var sink = new AuditTrailSink(AuditPolicy.Default, "n", journal, new ViolationMetrics(new GpuAuditMetrics(Metrics.NewCustomRegistry())), TimeSpan.FromSeconds(60)))
        {
            foreach (var tick in ticks)
            {
                sink.OnTick(tick, TimeSpan.Zero);
            }

            // An hour later in tick time the next prune runs and drops everything older than a minute.
            sink.OnTick(ticks[^1] with { Time = ticks[^1].Time + 3600 }, TimeSpan.Zero);
        }

        Assert.Empty(journal.JobMinutes("7", 0, ticks[^1].Time));
    }

    public void Dispose() => _dir.Dispose();
}
