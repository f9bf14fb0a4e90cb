using System.Globalization;
using GpuAudit.Core.Replay;

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

    [Fact]
    public async Task Ticks_analysed_in_batches_give_the_analyses_made_tick_by_tick_on_a_real_recording()
    {
        var byTick = await Signatures(TimeSpan.Zero);
        var batched = await Signatures(TimeSpan.FromSeconds(10));

        Assert.True(byTick.Count > 100, $"{byTick.Count} ticks");
        Assert.Contains(byTick, t => t.Contains("hash", StringComparison.Ordinal));
        Assert.Equal(byTick, batched);
    }

    [Fact]
    public async Task A_batch_is_analysed_once_its_ticks_span_the_interval_and_the_rest_when_the_source_ends()
    {
        var delivered = new List<double>();
        var seenAtEachAsk = new List<int>();
        using var source = new TickList(Enumerable.Range(1, 25).Select(t => new Tick(t, [new GpuSample { Time = t, Gpu = 0 }], [], [new CollectorStatus(0, true)])))
        {
            OnAsk = () => seenAtEachAsk.Add(delivered.Count),
        };
        var pipeline = PipelineFor(source);

        await new AuditRunner(source, pipeline, [new DelegateSink(a => delivered.Add(a.Time))], TimeProvider.System) { AnalysisInterval = TimeSpan.FromSeconds(10) }.RunAsync(CancellationToken.None);

        // Asked for tick n with n - 1 in hand: nothing analysed until tick 11 (10 s after tick 1), then 22.
        Assert.Equal(0, seenAtEachAsk[10]);
        Assert.Equal(11, seenAtEachAsk[11]);
        Assert.Equal(11, seenAtEachAsk[21]);
        Assert.Equal(22, seenAtEachAsk[22]);
        Assert.Equal(Enumerable.Range(1, 25).Select(t => (double)t), delivered);
    }

    [Fact]
    public async Task A_batch_ends_early_once_its_ticks_hold_as_many_process_samples_as_it_may_keep()
    {
        var delivered = 0;
        var seenAtEachAsk = new List<int>();
        ProcessUsage[] procs = [.. Enumerable.Range(1000, 3000).Select(pid => new ProcessUsage(pid, null, 1, null))];
        using var source = new TickList(Enumerable.Range(1, 6).Select(t => new Tick(t, [new GpuSample { Time = t, Gpu = 0, Procs = procs }], [], [new CollectorStatus(0, true)])))
        {
            OnAsk = () => seenAtEachAsk.Add(delivered),
        };
        var pipeline = PipelineFor(source);

        await new AuditRunner(source, pipeline, [new DelegateSink(_ => delivered++)], TimeProvider.System) { AnalysisInterval = TimeSpan.FromSeconds(10) }.RunAsync(CancellationToken.None);

        // 3,000 processes a tick: two ticks pass AuditRunner.MaxPendingProcesses, so batches of two, not of ten.
        Assert.True(2 * procs.Length >= AuditRunner.MaxPendingProcesses && procs.Length < AuditRunner.MaxPendingProcesses);
        Assert.Equal([0, 0, 2, 2, 4, 4, 6], seenAtEachAsk);
    }

    [Fact]
    public async Task Ticks_pending_when_the_run_is_cancelled_are_analysed_before_it_returns()
    {
        var delivered = new List<double>();
        using var stop = new CancellationTokenSource();
        using var source = new TickList(Enumerable.Range(1, 3).Select(t => new Tick(t, [new GpuSample { Time = t, Gpu = 0 }], [], [new CollectorStatus(0, true)])))
        {
            WhenEmpty = ct => Task.Delay(Timeout.Infinite, ct),
        };
        var pipeline = PipelineFor(source);
        var run = new AuditRunner(source, pipeline, [new DelegateSink(a => delivered.Add(a.Time))], TimeProvider.System) { AnalysisInterval = TimeSpan.FromSeconds(10) }.RunAsync(stop.Token);
        await source.Drained.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Empty(delivered);

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal([1.0, 2.0, 3.0], delivered);
    }

    [Fact]
    public async Task A_new_process_is_asked_about_as_its_tick_arrives_not_when_its_batch_is_analysed()
    {
        var identity = new ProcessRecord { Pid = 7, Comm = "xmrig", StartTicks = 100 };
        var insights = new AskRecorder();
        var delivered = 0;
        // Pid 5 throughout; pid 7 arrives at t = 13 and is gone at t = 15, inside the second batch (12-15).
        using var source = new TickList(Enumerable.Range(1, 15).Select(t => new Tick(
            t,
            [new GpuSample { Time = t, Gpu = 0, Procs = t is 13 or 14 ? [new ProcessUsage(5, null, 50, null), new ProcessUsage(7, null, 40, null)] : [new ProcessUsage(5, null, 90, null)] }],
            t == 13 ? [identity] : [],
            [new CollectorStatus(0, true)])))
        {
            OnAsk = () => insights.Asks.Add($"ask {delivered}"),
        };
        var pipeline = PipelineFor(source, insights);

        await new AuditRunner(source, pipeline, [new DelegateSink(_ => delivered++)], TimeProvider.System) { AnalysisInterval = TimeSpan.FromSeconds(10) }.RunAsync(CancellationToken.None);

        // Before the first batch is analysed, pid 5 (not analysed yet) is asked about as each tick
        // arrives. Once analysed it is not asked about on arrival any more, while pid 7 is, with its
        // identity, on each tick it is in: before the second batch (ticks 12-15) is analysed.
        Assert.Equal(["ask 0", "pid 5 -", "ask 0", "pid 5 -"], insights.Asks.Take(4));
        var secondBatch = insights.Asks.SkipWhile(a => a != "ask 11").TakeWhile(a => a == "ask 11" || a.StartsWith("pid 7", StringComparison.Ordinal)).ToList();
        Assert.Equal(["ask 11", "ask 11", "pid 7 xmrig", "ask 11", "pid 7 xmrig", "ask 11", "ask 11"], secondBatch);
        Assert.Equal(15, delivered);
    }

    private static async Task<List<string>> Signatures(TimeSpan analysisInterval)
    {
        var signatures = new List<string>();
        using var source = new TraceReplaySource([RepoPaths.Trace("mixed"), RepoPaths.Trace("hash_throttled")], new ReplayOptions { Fast = true, Loop = true, UntilSeconds = 150 }, TimeProvider.System);
        var pipeline = PipelineFor(source);
        var sink = new DelegateSink(a => signatures.Add(Signature(a)));
        await new AuditRunner(source, pipeline, [sink], TimeProvider.System) { AnalysisInterval = analysisInterval }.RunAsync(CancellationToken.None);
        return signatures;
    }

    private static string Signature(TickAnalysis a) => string.Join(
        " | ",
        [
            a.Time.ToString("R", CultureInfo.InvariantCulture),
            .. a.Gpus.Select(g => $"gpu {g.Device.Index} {g.Verdict?.Class} {g.Verdict?.Confidence:R} {string.Join("; ", g.Verdict?.Evidence ?? [])}"),
            .. a.Processes.Select(p => $"pid {p.Usage.Pid} {p.Verdict?.Class} {p.Verdict?.Confidence:R}"),
            .. a.Policy.Active.Select(v => $"{v.Rule} gpu {v.Gpu} pid {v.Pid} from {v.Start:R}"),
        ]);

    private static AuditPipeline PipelineFor(ISampleSource source, IProcessInsightProvider? insights = null) =>
        new(source.Devices, insights ?? new RecordedInsightProvider(), NoJobMap.Instance, new PolicyEngine(AuditPolicy.Default, "n"));

    private static async Task Run(int ticks, IReadOnlyList<IAnalysisSink> sinks, Action<string>? warn)
    {
        using var source = new TickList(Enumerable.Range(1, ticks).Select(t => new Tick(t, [new GpuSample { Time = t, Gpu = 0 }], [], [new CollectorStatus(0, true)])));
        var pipeline = PipelineFor(source);
        await new AuditRunner(source, pipeline, sinks, TimeProvider.System, warn).RunAsync(CancellationToken.None);
    }

    private sealed class TickList(IEnumerable<Tick> ticks) : ISampleSource
    {
        private readonly Queue<Tick> _ticks = new(ticks);
        private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Node => "n";

        public IReadOnlyList<GpuDevice> Devices { get; } = [Device];

        /// <summary>Called each time the runner asks for the next tick.</summary>
        public Action? OnAsk { get; init; }

        /// <summary>What the source does once its ticks are out (default: it ends).</summary>
        public Func<CancellationToken, Task>? WhenEmpty { get; init; }

        /// <summary>Completes when the runner asks for a tick past the last one.</summary>
        public Task Drained => _drained.Task;

        public async ValueTask<Tick?> NextAsync(CancellationToken cancellationToken)
        {
            OnAsk?.Invoke();
            if (_ticks.TryDequeue(out var tick))
            {
                return tick;
            }

            _drained.TrySetResult();
            if (WhenEmpty is not null)
            {
                await WhenEmpty(cancellationToken);
            }

            return null;
        }

        public void Dispose()
        {
        }
    }

    private sealed class DelegateSink(Action<TickAnalysis> onTick) : IAnalysisSink
    {
        public void OnTick(TickAnalysis analysis, TimeSpan pollDuration) => onTick(analysis);
    }

    /// <summary>Records each insight asked for, with the identity it was asked with.</summary>
    private sealed class AskRecorder : IProcessInsightProvider
    {
        public List<string> Asks { get; } = [];

        public ProcessInsight? GetInsight(int pid, ProcessRecord? identity)
        {
            Asks.Add($"pid {pid} {identity?.Comm ?? "-"}");
            return null;
        }

        public void Forget(int pid)
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
