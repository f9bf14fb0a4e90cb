using GpuAudit.Core.Kernels;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Reporting;

namespace GpuAudit.Agent.Journal;

/// <summary>
/// Writes each GPU process's top kernels (the kernel ledger's totals) to the journal, for the job
/// report: once a minute of tick time, when a process leaves the GPUs, and at the end. Only the
/// top <see cref="TopKernels"/> per process: a process that launches thousands of distinct
/// kernels cannot grow the journal.
/// </summary>
public sealed class KernelJournalSink(AuditJournal journal, string node) : IAnalysisSink, IDisposable
{
    public const int TopKernels = 10;

    private const double EverySeconds = 60;

    private readonly Dictionary<int, Pending> _pending = [];

    // Buffers kept between ticks: this runs every tick, for every GPU process.
    private readonly HashSet<int> _present = [];
    private readonly List<int> _left = [];
    private double _lastWrite = double.MinValue;

    public void OnTick(TickAnalysis analysis, TimeSpan pollDuration)
    {
        var present = _present;
        present.Clear();
        foreach (var process in analysis.ProcessSpan)
        {
            if (!present.Add(process.Pid) || process.Insight?.Kernels is not { Kernels.Count: > 0 } kernels)
            {
                continue;
            }

            // Rows are rebuilt only when the ledger published new totals (about once a second).
            if (!_pending.TryGetValue(process.Pid, out var pending) || !ReferenceEquals(pending.Kernels, kernels))
            {
                _pending[process.Pid] = new Pending(kernels, Rows(process, kernels));
            }
        }

        var left = _left;
        left.Clear();
        foreach (var pid in _pending.Keys)
        {
            if (!present.Contains(pid))
            {
                left.Add(pid);
            }
        }

        if (analysis.Time - _lastWrite >= EverySeconds)
        {
            journal.RecordKernels([.. _pending.Values.SelectMany(p => p.Rows)]);
            _lastWrite = analysis.Time;
        }
        else if (left.Count > 0)
        {
            journal.RecordKernels([.. left.SelectMany(pid => _pending[pid].Rows)]);
        }

        foreach (var pid in left)
        {
            _pending.Remove(pid);
        }
    }

    public void Dispose() => journal.RecordKernels([.. _pending.Values.SelectMany(p => p.Rows)]);

    private List<KernelLaunchRow> Rows(ProcessView process, ProcessKernels kernels) =>
        [.. kernels.Kernels.Take(TopKernels).Select(kernel => new KernelLaunchRow(
            node,
            process.Pid,
            process.Attribution.Job?.Id,
            process.Insight!.Comm,
            kernel.DisplayName,
            kernel.Launches,
            kernel.FirstSeen.ToUnixTimeMilliseconds() / 1000.0,
            kernel.LastSeen.ToUnixTimeMilliseconds() / 1000.0,
            kernel.ImageHashAlgorithms.Count > 0 ? string.Join(",", kernel.ImageHashAlgorithms) : null))];

    private sealed record Pending(ProcessKernels Kernels, List<KernelLaunchRow> Rows);
}
