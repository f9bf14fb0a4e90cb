using GpuAudit.Core.Features;
using GpuAudit.Core.Tests.Classification;
using static GpuAudit.Core.Tests.Classification.SyntheticSamples;

namespace GpuAudit.Core.Tests.Features;

public class GpuWindowMemoryTests
{
    /// <summary>
    /// A 10 s window at 1 Hz holds about 10 readings of its 128-reading ring. As the ring's head goes
    /// round, a new reading takes the process array of the one it evicted, so the window keeps
    /// about as many arrays as it holds readings, not one per slot of the ring (12 MB at 8 GPUs x
    /// 512 processes).
    /// </summary>
    [Fact]
    public void Readings_reuse_the_process_arrays_of_the_readings_they_evict()
    {
        var window = new GpuWindow(windowSeconds: 10, capacity: 128, busySmPct: 5, busyUtilPct: 5, ridge: 0.05);
        var procs = Enumerable.Range(1000, 512).Select(pid => (pid, (int?)0, 64L)).ToArray();
        var samples = Enumerable.Range(0, 400).Select(t => Sample(t, Mix.Idle, procs: procs)).ToArray();

        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var sample in samples)
        {
            window.Add(sample);
        }

        // Round the ring three times: about 11 arrays in all (the readings in the window and one
        // evicted), where an array per slot would be 128 of them (1.5 MB).
        const int arrayBytes = 512 * 24;
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 16 * arrayBytes);
        Assert.InRange(window.Count, 9, 11);
    }
}
