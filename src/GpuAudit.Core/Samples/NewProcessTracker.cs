namespace GpuAudit.Core.Samples;

/// <summary>
/// Decides which GPU processes a live source reports as new in a tick, keyed by (pid, start time):
/// a pid the kernel reused for another process has another start and is described again at once,
/// so its identity (executable, command line, job) is never the old process's. Describing reads
/// /proc on the poll thread, so the work per tick is bounded by <see cref="DescribeBudget"/>: pids
/// beyond it are described on the next tick (their samples come first).
/// </summary>
public sealed class NewProcessTracker(IProcessDescriber describer, TimeProvider time)
{
    // A pid absent from every GPU this long is forgotten (the map would otherwise grow for the agent's life).
    private const int ForgetAfterTicks = 600;

    private readonly Dictionary<int, Seen> _seen = [];
    private long _tick;
    private long _tickStarted;

    /// <summary>Time per tick spent describing new processes before the rest wait for the next tick.</summary>
    public TimeSpan DescribeBudget { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Starts a tick (the describe budget starts again).</summary>
    public void BeginTick()
    {
        _tick++;
        _tickStarted = time.GetTimestamp();
        if (_tick % 64 == 0)
        {
            foreach (var (pid, seen) in _seen.ToList())
            {
                if (_tick - seen.LastTick > ForgetAfterTicks)
                {
                    _seen.Remove(pid);
                }
            }
        }
    }

    /// <summary>Adds <paramref name="pid"/>'s record to <paramref name="newProcesses"/> when it is a process not reported before.</summary>
    public void Observe(int pid, List<ProcessRecord> newProcesses)
    {
        var start = describer.StartTicks(pid);
        if (_seen.TryGetValue(pid, out var seen))
        {
            seen.LastTick = _tick;
            if (start is null || seen.Start is null || start == seen.Start)
            {
                return;
            }
        }

        if (time.GetElapsedTime(_tickStarted) > DescribeBudget)
        {
            return;
        }

        // A pid gone before /proc could be read still gets its line: the trace promises one per process.
        var record = describer.Describe(pid) ?? new ProcessRecord { Pid = pid, StartTicks = start };
        _seen[pid] = new Seen(record.StartTicks ?? start, _tick);
        newProcesses.Add(record);
    }

    private sealed class Seen(long? start, long lastTick)
    {
        public long? Start { get; } = start;

        public long LastTick { get; set; } = lastTick;
    }
}
