
namespace GpuAudit.Agent.Tests.Journal;

public sealed class JournalSinkTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public void Mixed_trace_through_the_journal_sinks_leaves_the_violation_and_the_minutes_in_the_journal()
    {
        using var journal = AuditJournal.Open(_dir.Path);
        var engine = new PolicyEngine(AuditPolicy.Default, "h100-probe");
        var violations = new ViolationJournalSink(journal, "h100-probe");
        TickAnalysis? last = null;
        using (var summaries = new MinuteSummarySink(journal, "h100-probe", MinuteSummarySink.DefaultRetention))
        {
            foreach (var tick in TruthTicks.From(RecordedTrace.Load(RepoPaths.Trace("mixed")), new JobRef("4242", "gpu-map", "alice")))
            {
                last = tick with { Policy = engine.Evaluate(tick) };
                violations.OnTick(last, TimeSpan.Zero);
                summaries.OnTick(last, TimeSpan.Zero);
            }
        }

        Assert.Equal(776, Assert.Single(last!.Policy.Active).Pid);
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
        using (var sink = new MinuteSummarySink(journal, "n", TimeSpan.FromSeconds(60)))
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

    [Fact]
    public void A_new_journal_sink_closes_what_a_previous_run_left_open()
    {
        using var journal = AuditJournal.Open(_dir.Path);
        var open = new Violation { Id = "v1", Rule = PolicyRule.HashCompute, Node = "n", Gpu = 0, Uuid = "GPU-x", Pid = 776, Job = "4242", Start = 10, Evidence = ["e"] };
        journal.Record(new PolicyResult([open], [], [open]));

        _ = new ViolationJournalSink(journal, "n");

        Assert.NotNull(Assert.Single(journal.Violations("4242", 0, 1000)).End);
    }

    public void Dispose() => _dir.Dispose();
}
