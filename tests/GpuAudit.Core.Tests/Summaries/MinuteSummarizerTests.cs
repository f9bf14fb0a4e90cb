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
    public void Flushes_between_the_ticks_of_a_minute_lose_none_of_its_process_seconds()
    {
        // A flushed minute's accumulators leave the summarizer; the ticks after the flush (the
        // journal merges a minute written twice) must start new ones, not add to the handed-out
        // ones. Each batch is read when it is handed out, as the journal writes it.
        var ticks = TruthTicks.From(RecordedTrace.Load(RepoPaths.Trace("mixed")), new JobRef("4242", "gpu-map", "alice")).ToList();
        var whole = new MinuteSummarizer("n");
        var once = new Dictionary<int, double>();
        foreach (var tick in ticks)
        {
            Written(whole.Add(tick), once);
        }

        Written(whole.Flush(), once);
        var split = new MinuteSummarizer("n");
        var often = new Dictionary<int, double>();
        for (var i = 0; i < ticks.Count; i++)
        {
            Written(split.Add(ticks[i]), often);
            if (i % 7 == 3)
            {
                Written(split.Flush(), often);
            }
        }

        Written(split.Flush(), often);

        // 775 is on the GPU for 22 s and 776 for 13.7 s of the trace's 25 s, across two minutes.
        Assert.Equal(22, once[775], 6);
        Assert.Equal(13.727, once[776], 3);
        Assert.Equal(once.Keys.Order(), often.Keys.Order());
        Assert.All(once, e => Assert.Equal(e.Value, often[e.Key], 6));

        static void Written(MinuteBatch batch, Dictionary<int, double> seconds)
        {
            foreach (var row in batch.Processes)
            {
                seconds[row.Pid] = seconds.GetValueOrDefault(row.Pid) + row.Totals.ClassSeconds.Total;
            }
        }
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
