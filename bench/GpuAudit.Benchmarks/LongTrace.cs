namespace GpuAudit.Benchmarks;

/// <summary>A long single-GPU trace made of the real recordings played back to back, one sample a second.</summary>
internal static class LongTrace
{
    public static void Write(string path, IReadOnlyList<RecordedTrace> recordings, int sampleCount)
    {
        var first = recordings[0];
        using var writer = new TraceWriter(File.Create(path));
        writer.WriteHeader(first.Header with { Workload = "bench-long", Description = "real recordings repeated with shifted times", IntervalS = 1.0, Truth = null });
        // Pids can repeat across recordings: the first process line of a pid stands for all.
        foreach (var process in recordings.SelectMany(r => r.Processes).DistinctBy(p => p.Pid))
        {
            writer.WriteProcess(process);
        }

        var pool = recordings.SelectMany(r => r.Samples).ToList();
        var start = pool[0].Time;
        for (var i = 0; i < sampleCount; i++)
        {
            writer.WriteSample(pool[i % pool.Count] with { Time = start + i, Gpu = 0 });
        }
    }
}
