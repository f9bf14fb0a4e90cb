namespace GpuAudit.Nvml.Tests;

/// <summary>Process identities and start ticks from tables; pids not in them are "gone" (null).</summary>
internal sealed class FakeDescriber : IProcessDescriber
{
    public Dictionary<int, ProcessRecord> Known { get; } = [];

    public List<int> Asked { get; } = [];

    /// <summary>Start ticks per pid (absent: unknown, as for a source that cannot tell).</summary>
    public Dictionary<int, long> Starts { get; } = [];

    public ProcessRecord? Describe(int pid)
    {
        Asked.Add(pid);
        return Known.GetValueOrDefault(pid);
    }

    public long? StartTicks(int pid) => Starts.TryGetValue(pid, out var start) ? start : null;
}
