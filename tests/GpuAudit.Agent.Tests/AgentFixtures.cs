using System.Text;
using Prometheus;

namespace GpuAudit.Agent.Tests;

/// <summary>What several agent tests build the same way.</summary>
internal static class AgentFixtures
{
    /// <summary>pid 776's hash_compute violation on GPU 0 (GPU-x) of job 4242, open since <paramref name="start"/>.</summary>
    public static Violation HashViolation(string id, double start = 10, string? node = null) => new()
    {
        Id = id,
        Rule = PolicyRule.HashCompute,
        Node = node,
        Gpu = 0,
        Uuid = "GPU-x",
        Pid = 776,
        Job = "4242",
        Start = start,
        Evidence = ["pid 776 classified hash"],
    };

    /// <summary>The registry's text exposition, as a scrape reads it.</summary>
    public static async Task<string> ExpositionAsync(CollectorRegistry registry)
    {
        using var buffer = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(buffer);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
