namespace GpuAudit.Benchmarks;

/// <summary>
/// What the journal costs per GPU per poll on a simulated 8 GPU x 32 process node under a
/// scheduler: one invocation journals one minute of summaries (8 GPU, 256 process and 8 job
/// rows, as <see cref="MinuteSummarizer"/> hands them over once a minute), reported per GPU per
/// poll at 1 Hz (OperationsPerInvoke = 8 GPUs x 60 polls). The minutes are made before
/// measuring and follow each other, so process periods are sealed as they would be live.
/// </summary>
[MemoryDiagnoser]
public class JournalBenchmarks
{
    public const int PollsPerMinute = 60;

    private const int Minutes = 720;

    private readonly List<MinuteBatch> _minutes = [];
    private TempJournal _journal = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var ticks = BenchData.SimulateTicks(PipelineBenchmarks.Gpus, PipelineBenchmarks.ProcessesPerGpu, 150, out var devices);
        var pipeline = new AuditPipeline(devices, new RecordedInsightProvider(), new EveryGpuOneJob(), new PolicyEngine(AuditPolicy.Default, "bench"));
        var summarizer = new MinuteSummarizer("bench");
        var full = ticks.Select(t => summarizer.Add(pipeline.Process(t))).First(b => b.Processes.Count == PipelineBenchmarks.Gpus * PipelineBenchmarks.ProcessesPerGpu);
        var first = full.Gpus[0].Minute;
        for (var m = 0; m < Minutes; m++)
        {
            var shift = m * 60.0;
            MinuteTotals Shift(MinuteTotals t) => t with { FirstTime = t.FirstTime + shift, LastTime = t.LastTime + shift };
            _minutes.Add(new MinuteBatch(
                [.. full.Gpus.Select(r => r with { Minute = first + shift, Totals = Shift(r.Totals) })],
                [.. full.Processes.Select(r => r with { Minute = first + shift, Totals = Shift(r.Totals) })],
                [.. full.Jobs.Select(r => r with { Minute = first + shift, Totals = Shift(r.Totals) })]));
        }

        _journal = TempJournal.Open("gpuaudit-bench-journal-");
    }

    [GlobalCleanup]
    public void Cleanup() => _journal.Dispose();

    /// <summary>One minute of summaries of the 8x32 node into the journal: one transaction.</summary>
    [Benchmark(OperationsPerInvoke = PipelineBenchmarks.Gpus * PollsPerMinute)]
    public void RecordMinute() => _journal.Journal.Record(_minutes[_next++ % Minutes]);

    private sealed class EveryGpuOneJob : IGpuJobMap
    {
        private static readonly JobRef Job = new("4242", "gpu-map", "alice");

        public JobRef? JobFor(GpuDevice gpu) => Job;
    }
}
