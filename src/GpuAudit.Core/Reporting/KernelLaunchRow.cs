namespace GpuAudit.Core.Reporting;

/// <summary>
/// One kernel one process launched, as the journal keeps it and the job report shows it: totals
/// since the kernel ledger covered the process (times in Unix seconds). <see cref="HashConstants"/>
/// names the hash algorithms whose constants sit in the image the kernel was loaded from.
/// </summary>
public sealed record KernelLaunchRow(string Node, int Pid, string? Job, string? Comm, string Kernel, long Launches, double FirstSeen, double LastSeen, string? HashConstants);
