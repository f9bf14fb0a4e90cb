using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using GpuAudit.Agent.Exporters;
using GpuAudit.Agent.Exporters.Http;
using Prometheus;

namespace GpuAudit.Agent.Tests.Exporters;

/// <summary>
/// Per-process series are published from the latest tick when the registry is collected, not on
/// every poll: what that saves, and what it must not lose.
/// </summary>
public partial class ProcessPublicationTests
{
    private static readonly GpuDevice Device = new(0, "GPU-x", "H100", "580", 1, true);
    private readonly GpuAuditMetrics _metrics = new(Metrics.NewCustomRegistry());
    private readonly PrometheusExporter _exporter;

    public ProcessPublicationTests() =>
        _exporter = new PrometheusExporter(_metrics, [Device], TimeSpan.FromSeconds(1), new FakeTimeProvider());

    [Fact]
    public async Task Ticks_nobody_collects_publish_no_process_series_and_a_collect_publishes_the_latest_tick_once()
    {
        for (var tick = 1; tick <= 30; tick++)
        {
            Tick(tick, Process(100 + tick, memory: tick));
        }

        // The registry holds no per-process child at all: nothing was set on the poll loop.
        Assert.Empty(_metrics.ProcessMemory.GetAllLabelValues());
        Assert.Empty(_metrics.ProcessInfo.GetAllLabelValues());
        Assert.Equal(0, _exporter.ProcessPublications);

        var first = await AgentFixtures.ExpositionAsync(_metrics.Registry);
        var second = await AgentFixtures.ExpositionAsync(_metrics.Registry);

        Assert.Equal(1, _exporter.ProcessPublications);
        Assert.Equal(first, second);
        Assert.Equal(["130"], ProcessLines(first, "gpuaudit_process_memory_used_bytes").Select(l => Pid(l)).ToArray());
        Assert.Contains("gpuaudit_process_memory_used_bytes{uuid=\"GPU-x\",pid=\"130\",comm=\"worker\"} 30\n", first, StringComparison.Ordinal);
        Assert.Contains("gpuaudit_polls_total 30\n", first, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_process_that_came_and_went_between_two_scrapes_still_has_its_findings_counted()
    {
        var miner = Process(666, memory: 1) with
        {
            Insight = new ProcessInsight { Identity = new ProcessRecord { Pid = 666, Comm = "xmrig" }, Findings = [new ProcessFinding(FindingKind.MinerExecutable, "xmrig")] },
        };
        Tick(1, Process(100, memory: 1));
        await AgentFixtures.ExpositionAsync(_metrics.Registry);

        Tick(2, Process(100, memory: 1), miner);
        Tick(3, Process(100, memory: 1), miner);
        Tick(4, Process(100, memory: 1));
        var text = await AgentFixtures.ExpositionAsync(_metrics.Registry);

        Assert.Contains($"gpuaudit_evidence_total{{kind=\"{FindingKind.MinerExecutable.Label()}\"}} 1\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("pid=\"666\"", text, StringComparison.Ordinal);
        Assert.Contains("gpuaudit_process_series_dropped_total 0\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reading_the_latest_tick_lacks_keeps_the_last_one_as_when_every_tick_was_published()
    {
        // Tick 2 has no new per-process sample (SM null) and no verdict: the scrape after it shows tick 1's.
        var training = new Verdict(1, 0, 100, WorkloadClass.Training, 0.8, []);
        Tick(1, Process(100, memory: 10, sm: 50, verdict: training));
        Tick(2, Process(100, memory: 20));

        var text = await AgentFixtures.ExpositionAsync(_metrics.Registry);

        TextAssert.ContainsAll(
            text,
            "gpuaudit_process_memory_used_bytes{uuid=\"GPU-x\",pid=\"100\",comm=\"worker\"} 20\n",
            "gpuaudit_process_sm_utilization_ratio{uuid=\"GPU-x\",pid=\"100\",comm=\"worker\"} 0.5\n",
            "gpuaudit_process_class{uuid=\"GPU-x\",pid=\"100\",comm=\"worker\",class=\"training\"} 1\n",
            "gpuaudit_process_class_confidence{uuid=\"GPU-x\",pid=\"100\",comm=\"worker\"} 0.8\n");
    }

    [Fact]
    public async Task A_pid_that_left_and_came_back_between_two_scrapes_has_new_series_with_nothing_of_its_old_life()
    {
        Tick(1, Process(100, memory: 10, sm: 50));
        Assert.Contains("gpuaudit_process_sm_utilization_ratio{uuid=\"GPU-x\",pid=\"100\",comm=\"worker\"} 0.5\n", await AgentFixtures.ExpositionAsync(_metrics.Registry), StringComparison.Ordinal);

        Tick(2);
        Tick(3, Process(100, memory: 30) with { Identity = new ProcessRecord { Pid = 100, Comm = "other" } });
        var text = await AgentFixtures.ExpositionAsync(_metrics.Registry);

        // Published every tick, the old series went at tick 2 and the new life has no SM sample yet.
        Assert.DoesNotContain("gpuaudit_process_sm_utilization_ratio{", text, StringComparison.Ordinal);
        Assert.DoesNotContain("comm=\"worker\"", text, StringComparison.Ordinal);
        Assert.Contains("gpuaudit_process_memory_used_bytes{uuid=\"GPU-x\",pid=\"100\",comm=\"other\"} 30\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cap_is_applied_and_counted_at_each_publication()
    {
        var metrics = new GpuAuditMetrics(Metrics.NewCustomRegistry());
        var exporter = new PrometheusExporter(metrics, [Device], TimeSpan.FromSeconds(1), new FakeTimeProvider(), new PrometheusExporterOptions { MaxProcessSeries = 5 });
        var big = Process(100, memory: 100);
        exporter.OnTick(Analysis(1, big, Process(101, memory: 1)), TimeSpan.Zero);
        exporter.OnTick(Analysis(2, big, Process(102, memory: 1)), TimeSpan.Zero);
        exporter.OnTick(Analysis(3, big, Process(103, memory: 1)), TimeSpan.Zero);

        var text = await AgentFixtures.ExpositionAsync(metrics.Registry);
        Assert.Equal(["100"], ProcessLines(text, "gpuaudit_process_info").Select(l => Pid(l)).ToArray());
        // Only 103 was withheld at a publication; 101 and 102 came and went unread.
        Assert.Contains("gpuaudit_process_series_dropped_total 5\n", text, StringComparison.Ordinal);

        await AgentFixtures.ExpositionAsync(metrics.Registry);
        Assert.Contains("gpuaudit_process_series_dropped_total 5\n", await AgentFixtures.ExpositionAsync(metrics.Registry), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrapes_during_ticks_always_see_one_whole_tick()
    {
        // The wiring of AuditSession: the exporter's tick bracketed for the exposition cache.
        var cache = new ExpositionCache(_metrics.Registry, TimeProvider.System);
        IAnalysisSink[] sinks = [ExpositionSink.Opening(cache), _exporter, ExpositionSink.Closing(cache)];
        const int Ticks = 500;
        using var done = new CancellationTokenSource();
        var poll = Task.Run(() =>
        {
            for (var tick = 1; tick <= Ticks; tick++)
            {
                // Tick t: 1 + t % 5 processes, pids 1000t + k, each holding t bytes; the GPU at t % 101 percent.
                var analysis = Analysis(tick, [.. Enumerable.Range(0, 1 + (tick % 5)).Select(k => Process((1000 * tick) + k, memory: tick))]);
                foreach (var sink in sinks)
                {
                    sink.OnTick(analysis, TimeSpan.Zero);
                }

                // A gap between polls, as the agent's interval leaves: the exposition cache
                // renders in gaps (a rendering that overlaps a tick is thrown away).
                Thread.Sleep(1);
            }
        });

        var scrapes = 0;
        while (!poll.IsCompleted || scrapes == 0)
        {
            var (_, bytes) = await cache.GetAsync([ExpositionFormat.PrometheusText], gzip: false, CancellationToken.None);
            AssertOneTick(Encoding.UTF8.GetString(bytes));
            scrapes++;
        }

        await poll;
        Assert.True(_exporter.ProcessPublications <= Ticks, $"{_exporter.ProcessPublications} publications for {Ticks} ticks");
        var last = Encoding.UTF8.GetString((await cache.GetAsync([ExpositionFormat.PrometheusText], gzip: false, CancellationToken.None)).Bytes);
        Assert.Equal(Ticks, AssertOneTick(last));
    }

    /// <summary>The tick every process series, the GPU and the poll count of an exposition belong to.</summary>
    private static int AssertOneTick(string text)
    {
        var memory = ProcessLines(text, "gpuaudit_process_memory_used_bytes");
        if (memory.Count == 0)
        {
            Assert.DoesNotContain("gpuaudit_process_info{", text, StringComparison.Ordinal);
            return 0;
        }

        var tick = int.Parse(memory[0][(memory[0].LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        string[] pids = [.. Enumerable.Range(0, 1 + (tick % 5)).Select(k => ((1000 * tick) + k).ToString(CultureInfo.InvariantCulture))];
        Assert.All(memory, l => Assert.EndsWith($"}} {tick}", l, StringComparison.Ordinal));
        Assert.Equal(pids, memory.Select(l => Pid(l)).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(pids, ProcessLines(text, "gpuaudit_process_info").Select(l => Pid(l)).Order(StringComparer.Ordinal).ToArray());
        Assert.Contains($"gpuaudit_polls_total {tick}\n", text, StringComparison.Ordinal);
        var util = Assert.Single(text.Split('\n'), l => l.StartsWith("gpuaudit_gpu_utilization_ratio{", StringComparison.Ordinal));
        Assert.Equal((tick % 101) / 100.0, double.Parse(util[(util.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

        return tick;
    }

    private void Tick(int time, params ProcessView[] processes) => _exporter.OnTick(Analysis(time, processes), TimeSpan.Zero);

    private static TickAnalysis Analysis(int time, params ProcessView[] processes)
    {
        var sample = new GpuSample { Time = time, Gpu = 0, UtilGpuPct = time % 101 };
        return new TickAnalysis(time, [new GpuView(Device, sample, new CollectorStatus(0, true), null, null, processes)], processes, PolicyResult.None);
    }

    private static ProcessView Process(int pid, long memory, int? sm = null, Verdict? verdict = null)
    {
        var identity = new ProcessRecord { Pid = pid, Comm = "worker" };
        return new ProcessView(0, Device.Uuid, new ProcessUsage(pid, memory, sm, null), identity, new ProcessInsight { Identity = identity }, JobAttribution.Resolve(null, null), verdict);
    }

    private static List<string> ProcessLines(string text, string family) =>
        [.. text.Split('\n').Where(l => l.StartsWith(family + "{", StringComparison.Ordinal))];

    private static string Pid(string line) => PidLabel().Match(line).Groups[1].Value;

    [GeneratedRegex("pid=\"([0-9]+)\"")]
    private static partial Regex PidLabel();
}
