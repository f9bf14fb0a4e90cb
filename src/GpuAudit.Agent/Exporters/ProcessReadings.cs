using GpuAudit.Core.Classification;
using GpuAudit.Core.Pipeline;

namespace GpuAudit.Agent.Exporters;

/// <summary>
/// What a process's series show, carried from tick to tick, so that series published from the
/// latest tick alone show what publishing every tick showed: a reading the latest tick lacks (no
/// new per-process sample, no verdict yet, no ledger count) keeps the process's last one, and
/// <see cref="Since"/> (the tick its unbroken presence began) tells one life of its series from
/// the next when a pid leaves and comes back between two publications.
/// </summary>
/// <param name="Comm">The comm of the process's first tick: the label its series keep for their life.</param>
internal readonly record struct CarriedReading(long Since, string Comm, long? MemoryBytes, int? SmPct, Verdict? Verdict, long? KernelLaunches)
{
    public static CarriedReading First(ProcessView view, long tick) =>
        new(tick, view.Identity?.Comm ?? string.Empty, view.Usage.UsedMemBytes, view.Usage.SmPct, view.Verdict, view.Insight?.Kernels?.TotalLaunches);

    public CarriedReading Next(ProcessView view) => this with
    {
        MemoryBytes = view.Usage.UsedMemBytes ?? MemoryBytes,
        SmPct = view.Usage.SmPct ?? SmPct,
        Verdict = view.Verdict ?? Verdict,
        // The ledger's count only grows while the process lives; a counter never goes backwards.
        KernelLaunches = view.Insight?.Kernels?.TotalLaunches is { } launches ? Math.Max(launches, KernelLaunches ?? 0) : KernelLaunches,
    };
}

/// <summary>
/// Carries each process's readings from one tick to the next on the poll loop: the only
/// per-process work left there besides counting findings. A process is matched to the previous
/// tick by position (the sample order rarely changes), and only when that fails through an
/// index of the previous tick, built once for that tick; nothing is hashed on a steady node.
/// </summary>
internal sealed class ProcessReadings
{
    private readonly Dictionary<(string Uuid, int Pid), int> _previousIndex = new(GpuProcessKeyComparer.Instance);
    private IReadOnlyList<ProcessView> _previous = [];
    private CarriedReading[] _previousReadings = [];

    /// <summary>
    /// The readings of <paramref name="processes"/> (the same order); <paramref name="anyLeft"/>
    /// is true when a process of the previous tick is not among them.
    /// </summary>
    public CarriedReading[] Next(IReadOnlyList<ProcessView> processes, long tick, out bool anyLeft)
    {
        var readings = processes.Count == 0 ? [] : new CarriedReading[processes.Count];
        var previous = _previous;
        var indexed = false;
        var matched = 0;
        for (var i = 0; i < processes.Count; i++)
        {
            var view = processes[i];
            var at = i < previous.Count && previous[i].Pid == view.Pid && string.Equals(previous[i].Uuid, view.Uuid, StringComparison.Ordinal) ? i : -1;
            if (at < 0 && previous.Count > 0)
            {
                if (!indexed)
                {
                    IndexPrevious();
                    indexed = true;
                }

                at = _previousIndex.GetValueOrDefault((view.Uuid, view.Pid), -1);
            }

            if (at >= 0)
            {
                readings[i] = _previousReadings[at].Next(view);
                matched++;
            }
            else
            {
                readings[i] = CarriedReading.First(view, tick);
            }
        }

        anyLeft = matched < previous.Count;
        _previous = processes;
        _previousReadings = readings;
        return readings;
    }

    private void IndexPrevious()
    {
        _previousIndex.Clear();
        for (var i = 0; i < _previous.Count; i++)
        {
            _previousIndex[(_previous[i].Uuid, _previous[i].Pid)] = i;
        }
    }
}
