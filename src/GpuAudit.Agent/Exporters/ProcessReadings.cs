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
/// Two arrays take turns (the latest tick's and the one before it), so a tick allocates
/// nothing; the caller keeps a collect from reading <see cref="Current"/> while the next tick
/// is written (<see cref="ProcessSeriesPublisher"/>'s lock).
/// </summary>
internal sealed class ProcessReadings
{
    private readonly Dictionary<(string Uuid, int Pid), int> _previousIndex = new(GpuProcessKeyComparer.Instance);
    private IReadOnlyList<ProcessView> _processes = [];
    private CarriedReading[] _current = [];
    private CarriedReading[] _spare = [];

    /// <summary>The readings of the processes of the last <see cref="Next"/>, in their order (the array may be longer).</summary>
    public CarriedReading[] Current => _current;

    /// <summary>
    /// Carries the readings to <paramref name="processes"/>; true when a process of the previous
    /// tick is not among them.
    /// </summary>
    public bool Next(IReadOnlyList<ProcessView> processes, long tick)
    {
        var previous = _processes;
        var carried = _current;
        var readings = _spare.Length >= processes.Count ? _spare : new CarriedReading[Math.Max(processes.Count, 2 * _spare.Length)];
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
                readings[i] = carried[at].Next(view);
                matched++;
            }
            else
            {
                readings[i] = CarriedReading.First(view, tick);
            }
        }

        // The readings past this tick's count are stale: they are never read (Current is read up to the count).
        _spare = carried;
        _current = readings;
        _processes = processes;
        return matched < previous.Count;
    }

    private void IndexPrevious()
    {
        _previousIndex.Clear();
        for (var i = 0; i < _processes.Count; i++)
        {
            _previousIndex[(_processes[i].Uuid, _processes[i].Pid)] = i;
        }
    }
}
