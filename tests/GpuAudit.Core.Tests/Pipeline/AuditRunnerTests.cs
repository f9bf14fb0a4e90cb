namespace GpuAudit.Core.Tests.Pipeline;

public sealed class AuditRunnerTests
{
    private static readonly GpuDevice Device = new(0, "GPU-runner-0", "NVIDIA H100 80GB HBM3", "580", 85520809984, true);

    [Fact]
    public async Task A_failing_journal_sink_stops_that_ticks_later_sinks_and_the_next_tick_runs_them_again()
    {
        var calls = new List<string>();
        var journal = new RecordingJournal(calls, failAt: 2);
        var exporter = new RecordingSink("exporter", calls);
        var warnings = new List<string>();

        await Run(3, [journal, exporter], warnings.Add);

        Assert.Equal(["journal 1", "exporter 1", "journal 2", "journal 3", "exporter 3"], calls);
        Assert.Contains("nothing of this tick is exported", Assert.Single(warnings), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Journal_sinks_run_before_every_other_sink_whatever_their_place_in_the_list()
    {
        var calls = new List<string>();

        await Run(1, [new RecordingSink("exporter", calls), new RecordingJournal(calls, failAt: 0), new RecordingSink("summary", calls)], null);

        Assert.Equal(["journal 1", "exporter 1", "summary 1"], calls);
    }

    [Fact]
    public async Task A_failing_exporter_is_reported_and_the_sinks_after_it_still_run()
    {
        var calls = new List<string>();
        var warnings = new List<string>();

        await Run(2, [new ThrowingSink(), new RecordingSink("exporter", calls)], warnings.Add);

        Assert.Equal(["exporter 1", "exporter 2"], calls);
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, w => Assert.StartsWith("ThrowingSink failed", w, StringComparison.Ordinal));
    }

    private static async Task Run(int ticks, IReadOnlyList<IAnalysisSink> sinks, Action<string>? warn)
    {
        using var source = new TickList(Enumerable.Range(1, ticks).Select(t => new Tick(t, [new GpuSample { Time = t, Gpu = 0 }], [], [new CollectorStatus(0, true)])));
        var pipeline = new AuditPipeline(source.Devices, new RecordedInsightProvider(), NoJobMap.Instance, new PolicyEngine(AuditPolicy.Default, "n"));
        await new AuditRunner(source, pipeline, sinks, TimeProvider.System, warn).RunAsync(CancellationToken.None);
    }

    private sealed class TickList(IEnumerable<Tick> ticks) : ISampleSource
    {
        private readonly Queue<Tick> _ticks = new(ticks);

        public string Node => "n";

        public IReadOnlyList<GpuDevice> Devices { get; } = [Device];

        public ValueTask<Tick?> NextAsync(CancellationToken cancellationToken) => ValueTask.FromResult(_ticks.TryDequeue(out var tick) ? tick : null);

        public void Dispose()
        {
        }
    }

    private class RecordingSink(string name, List<string> calls) : IAnalysisSink
    {
        public virtual void OnTick(TickAnalysis analysis, TimeSpan pollDuration) => calls.Add($"{name} {analysis.Time:0}");
    }

    private sealed class RecordingJournal(List<string> calls, int failAt) : RecordingSink("journal", calls), IJournalSink
    {
        public override void OnTick(TickAnalysis analysis, TimeSpan pollDuration)
        {
            base.OnTick(analysis, pollDuration);
            if (analysis.Time == failAt)
            {
                throw new IOException("disk I/O error");
            }
        }
    }

    private sealed class ThrowingSink : IAnalysisSink
    {
        public void OnTick(TickAnalysis analysis, TimeSpan pollDuration) => throw new InvalidOperationException("broken exporter");
    }
}
