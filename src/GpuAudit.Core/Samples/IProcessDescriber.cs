namespace GpuAudit.Core.Samples;

/// <summary>
/// Captures the identity of a live process (for trace <c>process</c> lines and the pipeline):
/// /proc on Linux, a fixture in tests. Returns null when the process is gone or unreadable.
/// </summary>
public interface IProcessDescriber
{
    ProcessRecord? Describe(int pid);
}
