using GpuAudit.Core.Features;
using GpuAudit.Core.Tests.Classification;
using static GpuAudit.Core.Tests.Classification.SyntheticSamples;

namespace GpuAudit.Core.Tests.Features;

public class ProcessRankingTests
{
    /// <summary>
    /// The fit ranks a GPU's processes by SM time, most first, ties by pid: the order of the process
    /// verdicts and of the residual's members. Up to 64 processes an insertion sort ranks them, beyond
    /// that the library's sort: both must give the one order, whatever order NVML lists them in.
    /// </summary>
    [Theory]
    [InlineData(20)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(300)]
    public void Processes_are_ranked_by_SM_time_then_pid_whatever_their_order_in_the_reading(int count)
    {
        // Listed in a scrambled order (37 is prime to every count here); SM shares of 1-7% repeat, so
        // most ranks are decided by the pid.
        var procs = Enumerable.Range(0, count)
            .Select(i => (i * 37) % count)
            .Select(k => (Pid: 5000 + k, SmPct: (int?)(1 + (k % 7)), MiB: 512L))
            .ToArray();
        var window = new GpuWindow(windowSeconds: 10, capacity: 128, busySmPct: 2, busyUtilPct: 5, ridge: 0.5);
        for (var t = 0; t < 5; t++)
        {
            window.Add(Sample(t, Mix.Transformer, procs: procs));
        }

        window.FitProcesses();
        var ranked = new List<int>();
        window.ProcessPids(ranked);

        var expected = procs.OrderByDescending(p => p.SmPct).ThenBy(p => p.Pid).Select(p => p.Pid);
        Assert.Equal(expected, ranked);
    }
}
