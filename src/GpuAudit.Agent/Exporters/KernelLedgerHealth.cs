using GpuAudit.Core.Kernels;
using GpuAudit.Core.Pipeline;

namespace GpuAudit.Agent.Exporters;

/// <summary>
/// The kernel ledger's own series: whether it runs, how many libcuda files carry its probes, and
/// what it lost. With no ledger (off, or unavailable here) only <c>gpuaudit_kernel_ledger_up 0</c>.
/// </summary>
public sealed class KernelLedgerHealth : IAnalysisSink
{
    private readonly GpuAuditMetrics _metrics;
    private readonly IKernelLedgerView? _ledger;

    public KernelLedgerHealth(GpuAuditMetrics metrics, IKernelLedgerView? ledger)
    {
        _metrics = metrics;
        _ledger = ledger;
        metrics.KernelLedgerUp.Set(ledger is null ? 0 : 1);
    }

    public void OnTick(TickAnalysis analysis, TimeSpan pollDuration)
    {
        if (_ledger?.Snapshot is not { } snapshot)
        {
            return;
        }

        _metrics.KernelLedgerLibraries.Set(snapshot.Libraries.Count);
        _metrics.KernelLedgerLost.WithLabels("launches").IncTo(snapshot.LaunchesLost);
        _metrics.KernelLedgerLost.WithLabels("events").IncTo(snapshot.EventsLost);
    }
}
