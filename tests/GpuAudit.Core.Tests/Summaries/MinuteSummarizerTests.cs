namespace GpuAudit.Core.Tests.Summaries;

public sealed class MinuteSummarizerTests
{
    [Fact]
    public void Mixed_trace_minutes_add_up_to_the_observed_time_and_the_energy_counter()
    {
        var trace = RecordedTrace.Load(RepoPaths.Trace("mixed"));
        var summarizer = new MinuteSummarizer("h100-probe");
        var batches = TruthTicks.From(trace, new JobRef("4242", "gpu-map", "alice")).Select(summarizer.Add).ToList();
        batches.Add(summarizer.Flush());

        var gpuRows = batches.SelectMany(b => b.Gpus).ToList();
        var observed = trace.Samples.Zip(trace.Samples.Skip(1), (a, b) => Math.Min(b.Time - a.Time, MinuteSummarizer.MaxGapSeconds)).Sum();
        Assert.Equal(observed, gpuRows.Sum(r => r.Totals.ClassSeconds.Total), 6);
        Assert.All(gpuRows, r => Assert.Equal(r.Totals.ClassSeconds.Total, r.Totals.ClassSeconds[WorkloadClass.Mixed], 6));
        var energy = (trace.Samples[^1].EnergyMj!.Value - trace.Samples[0].EnergyMj!.Value) / 1000.0;
        Assert.Equal(energy, gpuRows.Sum(r => r.Totals.EnergyJoules), 3);

        var jobRows = batches.SelectMany(b => b.Jobs).ToList();
        Assert.All(jobRows, r => Assert.Equal(("4242", "alice"), (r.Job, r.User)));
        Assert.Equal(gpuRows.Sum(r => r.Totals.EnergyJoules), jobRows.Sum(r => r.Totals.EnergyJoules), 6);

        var processes = batches.SelectMany(b => b.Processes).GroupBy(r => r.Pid).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal([775, 776], processes.Keys.Order());
        Assert.True(processes[776].Sum(r => r.Totals.ClassSeconds[WorkloadClass.Hash]) > 10);
        Assert.Equal(0, processes[775].Sum(r => r.Totals.ClassSeconds[WorkloadClass.Hash]));
        Assert.All(processes[776], r => Assert.Equal(("4242", "python3", "/usr/bin/python3.12"), (r.Job, r.Comm, r.Executable)));
    }

    [Fact]
    public void Diverted_seconds_of_the_policy_land_on_the_job_minute_and_add_up_to_the_policy_total()
    {
        var trace = RecordedTrace.Load(RepoPaths.Trace("mixed"));
        var summarizer = new MinuteSummarizer("h100-probe");
        var engine = new PolicyEngine(AuditPolicy.Default);
        var total = 0.0;
        var batches = new List<MinuteBatch>();
        foreach (var tick in TruthTicks.From(trace, new JobRef("4242", "gpu-map", "alice")))
        {
            var policy = engine.Evaluate(tick);
            total += policy.Diverted.Sum(d => d.Seconds);
            batches.Add(summarizer.Add(tick with { Policy = policy }));
        }

        batches.Add(summarizer.Flush());
        Assert.True(total > 5, "the miner's violation diverted the GPU: " + total);
        Assert.Equal(total, batches.SelectMany(b => b.Jobs).Sum(r => r.DivertedSeconds), 6);
    }

    [Fact]
    public void A_minute_is_handed_out_once_the_ticks_move_past_it()
    {
        var trace = RecordedTrace.Load(RepoPaths.Trace("idle"));
        var summarizer = new MinuteSummarizer("n");
        var minutes = new List<double>();
        foreach (var tick in TruthTicks.From(trace, null))
        {
            var batch = summarizer.Add(tick);
            Assert.All(batch.Gpus, r => Assert.True(r.Minute + 60 <= tick.Time));
            minutes.AddRange(batch.Gpus.Select(r => r.Minute));
        }

        minutes.AddRange(summarizer.Flush().Gpus.Select(r => r.Minute));
        Assert.Equal(minutes.Distinct().Count(), minutes.Count);
        Assert.True(minutes.Count >= 4, "the idle trace spans four minutes");
        Assert.True(summarizer.Flush().IsEmpty);
    }
}
