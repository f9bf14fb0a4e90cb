namespace GpuAudit.Benchmarks;

/// <summary>
/// Per-tick cost of the policy and the minute summarizer on an 8-GPU node with two processes per
/// GPU (one hashing), and the latency of a durable violation write (WAL, synchronous=FULL).
/// </summary>
[MemoryDiagnoser]
public class PolicyBenchmarks
{
    private readonly List<TickAnalysis> _ticks = [];
    private PolicyEngine _engine = null!;
    private MinuteSummarizer _summarizer = null!;
    private TempJournal _journal = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var devices = Enumerable.Range(0, 8).Select(i => new GpuDevice(i, $"GPU-{i:00000000}", "NVIDIA H100 80GB HBM3", "580", 85520809984, true)).ToList();
        for (var t = 0; t < 600; t++)
        {
            var time = 1_795_733_000.0 + t;
            var job = new JobRef("4242", "gpu-map", "alice");
            var perGpu = devices.Select(d => new[]
            {
                Process(d, 1000 + (2 * d.Index), WorkloadClass.Training, time, job),
                Process(d, 1001 + (2 * d.Index), WorkloadClass.Hash, time, job),
            }).ToList();
            var gpus = devices.Select(d => new GpuView(d, new GpuSample { Time = time, Gpu = d.Index, UtilGpuPct = 97, PowerMw = 600_000, EnergyMj = 1000L * 600 * t },
                new CollectorStatus(d.Index, true), new Verdict(time, d.Index, null, WorkloadClass.Mixed, 0.9, ["mixed"]), job, perGpu[d.Index])).ToList();
            _ticks.Add(new TickAnalysis(time, gpus, [.. perGpu.SelectMany(p => p)], PolicyResult.None));
        }

        _engine = new PolicyEngine(AuditPolicy.Default, "bench");
        _summarizer = new MinuteSummarizer("bench");
        _journal = TempJournal.Open("gpuaudit-bench-");
    }

    [GlobalCleanup]
    public void Cleanup() => _journal.Dispose();

    [Benchmark]
    public PolicyResult EvaluateTick() => _engine.Evaluate(NextTick());

    [Benchmark]
    public MinuteBatch SummarizeTick() => _summarizer.Add(NextTick());

    [Benchmark]
    public void JournalOneViolation()
    {
        var id = (_next++).ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
        _journal.Journal.Record(new PolicyResult([new Violation { Id = id, Rule = PolicyRule.HashCompute, Gpu = 0, Uuid = "GPU-0", Pid = 1, Job = "4242", Start = 1, Evidence = ["bench"] }], [], []));
    }

    private TickAnalysis NextTick() => _ticks[_next++ % _ticks.Count] with { Time = 1_795_733_000.0 + _next };

    private static ProcessView Process(GpuDevice device, int pid, WorkloadClass value, double time, JobRef job) =>
        new(device.Index, device.Uuid, new ProcessUsage(pid, 1L << 30, 45, 10), new ProcessRecord { Pid = pid, Comm = "python3", Exe = "/usr/bin/python3.12" },
            new ProcessInsight { Identity = new ProcessRecord { Pid = pid }, User = "alice" }, JobAttribution.Resolve(null, job), new Verdict(time, device.Index, pid, value, 0.9, ["evidence"]));
}
