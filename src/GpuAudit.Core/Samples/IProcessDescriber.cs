namespace GpuAudit.Core.Samples;

/// <summary>
/// Captures the identity of a live process (for trace <c>process</c> lines and the pipeline):
/// /proc on Linux, a fixture in tests. Returns null when the process is gone or unreadable.
/// </summary>
public interface IProcessDescriber
{
    ProcessRecord? Describe(int pid);

    /// <summary>
    /// The process's start time in clock ticks since boot, read cheaply (it is asked for every GPU
    /// process on every poll, to tell a reused pid from the process seen before); null when unknown.
    /// </summary>
    long? StartTicks(int pid) => null;
}
