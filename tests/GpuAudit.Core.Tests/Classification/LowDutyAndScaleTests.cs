using static GpuAudit.Core.Tests.Classification.SyntheticSamples;

namespace GpuAudit.Core.Tests.Classification;

/// <summary>
/// The classifier against a workload that knows it is watched: more processes than the split can
/// fit one by one, bursts too short for a 10 s window, work the split cannot pin on one pid.
/// </summary>
public class LowDutyAndScaleTests
{
    private static List<GpuVerdicts> Classify(IEnumerable<GpuSample> samples)
    {
        var c = new WorkloadClassifier();
        return [.. samples.Select(c.Observe).OfType<GpuVerdicts>()];
    }

    /// <summary>Hashing in bursts of <paramref name="on"/> s every <paramref name="period"/> s; the process stays resident (listed, 0% SM) between bursts.</summary>
    private static IEnumerable<GpuSample> Bursts(Mix mix, int seconds, int on, int period, int pid = 100) =>
        Enumerable.Range(0, seconds).Select(t => t % period < on
            ? Sample(t, mix, procs: (pid, (int)Math.Round(mix.Sm), 2048))
            : Sample(t, Mix.Idle, procs: (pid, 0, 2048)));

    [Theory]
    [InlineData(2, 10)]
    [InlineData(1, 10)]
    [InlineData(2, 20)]
    public void Hash_bursts_too_short_for_the_window_are_judged_over_the_low_duty_window(int on, int period)
    {
        var v = Classify(Bursts(Mix.Sha256, 120, on, period));

        var hash = v.Where(x => x.Gpu.Class == WorkloadClass.Hash).ToList();
        Assert.NotEmpty(hash);
        Assert.All(hash, x => Assert.Contains(x.Gpu.Evidence, e => e.StartsWith("low duty cycle", StringComparison.Ordinal)));
        Assert.All(hash, x => Assert.Equal([100], x.Gpu.Candidates));
        // First low-duty verdict at the third burst: 3 busy readings, as the 10 s window asks for.
        Assert.True(hash[0].Gpu.Time - T0 <= (2 * period) + on);
        // Hash-seconds: the bursts' SM time (99% activity, 1 s each) from the third burst on.
        var total = v[^1].Gpu.HashSecondsTotal;
        var bursts = 120 / period;
        Assert.InRange(total, 0.99 * on * (bursts - 2) * 0.95, 0.99 * on * bursts);
    }

    [Theory]
    [InlineData(2, 10)]
    [InlineData(1, 10)]
    public void Training_or_sorting_in_short_bursts_is_never_hash(int on, int period)
    {
        var sort = new Mix(Sm: 96, Integer: 54, Dram: 50, Occupancy: 53, Pcie: 40);
        Assert.DoesNotContain(Classify(Bursts(Mix.Transformer, 120, on, period)), x => x.Gpu.Class == WorkloadClass.Hash);
        Assert.DoesNotContain(Classify(Bursts(sort, 120, on, period)), x => x.Gpu.Class == WorkloadClass.Hash);
        Assert.Equal(0, Classify(Bursts(Mix.Transformer, 120, on, period))[^1].Gpu.HashSecondsTotal);
    }

    [Fact]
    public void Busy_readings_with_no_process_before_or_at_them_are_tails_of_work_that_ended()
    {
        // The shape of the recorder's idle trace: one busy reading after each workload ended, no process listed.
        var samples = Enumerable.Range(0, 120).Select(t => t % 20 == 0 ? Sample(t, Mix.Sha256) : Sample(t, Mix.Idle));
        Assert.All(Classify(samples), x => Assert.Equal(WorkloadClass.Idle, x.Gpu.Class));
    }

    [Fact]
    public void Hash_work_that_stopped_is_not_pinned_on_the_next_burst()
    {
        var samples = Enumerable.Range(0, 20).Select(t => Sample(t, Mix.Sha256, procs: (100, 99, 500)))
            .Concat(Enumerable.Range(20, 60).Select(t => t % 10 == 0
                ? Sample(t, Mix.Transformer, procs: (200, 82, 8000))
                : Sample(t, Mix.Idle, procs: (200, 0, 8000))));
        var after = Classify(samples).Where(x => x.Gpu.Time - T0 >= 30).ToList();
        Assert.DoesNotContain(after, x => x.Gpu.Class == WorkloadClass.Hash);
    }

    [Theory]
    [InlineData(9)]
    [InlineData(16)]
    [InlineData(32)]
    public void Hashing_split_over_many_processes_is_hash_for_every_one_of_them(int n)
    {
        var weights = Enumerable.Range(0, n).Select(i => 0.2 + ((i * 37 % 11) / 10.0)).ToArray();
        var total = weights.Sum();
        var samples = Enumerable.Range(0, 15).Select(t => Sample(t, Mix.Sha256,
            procs: [.. Enumerable.Range(0, n).Select(i => (1000 + i, (int?)(int)Math.Round(99 * weights[i] / total), 300L))]));
        var last = Classify(samples)[^1];
        int ShareOf(int pid) => (int)Math.Round(99 * weights[pid - 1000] / total);

        Assert.Equal(WorkloadClass.Hash, last.Gpu.Class);
        Assert.Equal(n, last.Processes.Count);
        // A process below 2% of SM time takes no part in the work (the split's threshold): idle.
        Assert.All(last.Processes, p => Assert.Equal(ShareOf(p.Pid!.Value) >= 2 ? WorkloadClass.Hash : WorkloadClass.Idle, p.Class));
        var folded = last.Processes.Where(p => p.Candidates.Count > 0).ToList();
        Assert.Equal(n - 7, folded.Count);
        Assert.All(folded, p => Assert.StartsWith("one of " + (n - 7) + " processes with the least SM time", p.Evidence[0], StringComparison.Ordinal));
    }

    [Fact]
    public void A_miner_among_many_idle_neighbours_is_pinned_on_its_own_pid()
    {
        // 20 resident processes; one of them (pid 1019) does all the work: it gets its own term.
        var samples = Enumerable.Range(0, 15).Select(t => Sample(t, Mix.Sha256,
            procs: [.. Enumerable.Range(0, 20).Select(i => (1000 + i, (int?)(i == 19 ? 99 : 0), 300L))]));
        var last = Classify(samples)[^1];
        Assert.Equal(WorkloadClass.Hash, last.Processes.Single(p => p.Pid == 1019).Class);
        Assert.Empty(last.Processes.Single(p => p.Pid == 1019).Candidates);
        Assert.All(last.Processes.Where(p => p.Pid != 1019), p => Assert.Equal(WorkloadClass.Idle, p.Class));
    }

    [Fact]
    public void A_pid_that_changes_every_second_leaves_the_gpu_verdict_hash_with_the_pids_as_candidates()
    {
        var samples = Enumerable.Range(0, 15).Select(t => Sample(t, Mix.Sha256, procs: (5000 + t, 99, 300)));
        var last = Classify(samples)[^1];
        Assert.Equal(WorkloadClass.Hash, last.Gpu.Class);
        Assert.DoesNotContain(last.Processes, p => p.Class == WorkloadClass.Hash);
        Assert.Contains(5014, last.Gpu.Candidates);
        Assert.InRange(last.Gpu.HashSecondsTotal, 10, 15);
    }
}
