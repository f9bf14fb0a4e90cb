namespace GpuAudit.Ebpf;

/// <summary>The ledger cannot run here: no libbpf, no permission, a kernel without uprobes or BTF. Says why and how to fix it.</summary>
public sealed class KernelLedgerUnavailableException(string message, string fix) : Exception(message)
{
    public string Fix { get; } = fix;

    public string MessageWithFix => Message + " (" + Fix + ")";
}
