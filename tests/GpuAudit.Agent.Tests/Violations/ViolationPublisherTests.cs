using GpuAudit.Agent.Exporters;
using GpuAudit.Agent.Journal;
using GpuAudit.Agent.Tests.Journal;
using GpuAudit.Agent.Violations;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Summaries;
using Prometheus;

namespace GpuAudit.Agent.Tests.Violations;

public sealed class ViolationPublisherTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task An_opened_violation_is_journalled_and_exported_and_vanishes_from_metrics_when_closed()
    {
        var registry = Metrics.NewCustomRegistry();
        using var journal = AuditJournal.Open(_dir.Path);
        var publisher = new ViolationPublisher(journal, new ViolationMetrics(new GpuAuditMetrics(registry)));
        var open = Violation("v1");

        publisher.Publish(new PolicyResult([open, Violation("allowed") with { Pid = 9, AllowedBy = new Allowance([], "4242", null, null, null, "ok", 1) }], [], [open]));

        var exposition = await Expose(registry);
        Assert.Contains("gpuaudit_violations_total{rule=\"hash_compute\",severity=\"critical\"} 1", exposition, StringComparison.Ordinal);
        Assert.Contains("gpuaudit_violation_active{rule=\"hash_compute\",severity=\"critical\",uuid=\"GPU-x\",pid=\"776\",job_id=\"4242\"} 1", exposition, StringComparison.Ordinal);
        Assert.DoesNotContain("pid=\"9\"", exposition, StringComparison.Ordinal);
        Assert.Equal(["allowed", "v1"], journal.Violations("4242", 0, 1000).Select(v => v.Id));

        publisher.Publish(new PolicyResult([], [open with { End = 50 }], []));

        exposition = await Expose(registry);
        Assert.DoesNotContain("gpuaudit_violation_active{", exposition, StringComparison.Ordinal);
        Assert.Equal(50, journal.Violations("4242", 0, 1000).Single(v => v.Id == "v1").End);
    }

    [Fact]
    public async Task Nothing_is_exported_when_the_journal_write_fails()
    {
        var registry = Metrics.NewCustomRegistry();
        var journal = AuditJournal.Open(_dir.Path);
        var publisher = new ViolationPublisher(journal, new ViolationMetrics(new GpuAuditMetrics(registry)));
        journal.Dispose();

        Assert.ThrowsAny<Exception>(() => publisher.Publish(new PolicyResult([Violation("lost")], [], [])));

        Assert.DoesNotContain("gpuaudit_violation_active{", await Expose(registry), StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Dispose();

    private static async Task<string> Expose(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static Violation Violation(string id) => new()
    {
        Id = id,
        Rule = PolicyRule.HashCompute,
        Gpu = 0,
        Uuid = "GPU-x",
        Pid = 776,
        Job = "4242",
        Start = 10,
        Evidence = ["pid 776 classified hash"],
    };
}
