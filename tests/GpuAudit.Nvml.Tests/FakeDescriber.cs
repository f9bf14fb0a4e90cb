using GpuAudit.Core.Samples;

namespace GpuAudit.Nvml.Tests;

/// <summary>Process identities from a table; pids not in it are "gone" (null).</summary>
internal sealed class FakeDescriber : IProcessDescriber
{
    public Dictionary<int, ProcessRecord> Known { get; } = [];

    public List<int> Asked { get; } = [];

    public ProcessRecord? Describe(int pid)
    {
        Asked.Add(pid);
        return Known.GetValueOrDefault(pid);
    }
}
