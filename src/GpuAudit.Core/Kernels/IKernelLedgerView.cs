namespace GpuAudit.Core.Kernels;

/// <summary>The kernel ledger as the pipeline sees it: a snapshot to read, and processes to cover.</summary>
public interface IKernelLedgerView
{
    /// <summary>The latest snapshot (immutable; replaced about once a second).</summary>
    KernelLedgerSnapshot Snapshot { get; }

    /// <summary>Asks for the probes on this process's libcuda files (cheap; call it every poll).</summary>
    void Watch(int pid);
}
