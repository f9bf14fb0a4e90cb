using GpuAudit.Agent.Pipeline;
using GpuAudit.Core.Inspection;
using GpuAudit.Linux;
using GpuAudit.Tests;
using Microsoft.Extensions.Time.Testing;

namespace GpuAudit.Agent.Tests.Pipeline;

public sealed class LiveInsightProviderTests
{
    private static readonly string ProcRoot = RepoPaths.File("tests", "GpuAudit.Linux.Tests", "Fixtures", "proc");
    private const int MinerPid = 4242;

    [Fact]
    public void A_new_pid_is_inspected_once_for_its_trace_identity_and_its_insight()
    {
        var clock = new FakeTimeProvider();
        var provider = new LiveInsightProvider(new ProcessInspector(ProcRoot), null, clock, TimeSpan.FromSeconds(30));

        var identity = provider.Describe(MinerPid);
        var insight = provider.GetInsight(MinerPid, identity);

        Assert.NotNull(identity);
        Assert.Same(identity, insight!.Identity);
        Assert.Contains(insight.Findings, f => f.Kind == FindingKind.MinerExecutable);
        Assert.Same(insight, provider.GetInsight(MinerPid, identity));
    }

    [Fact]
    public void The_inspection_is_read_again_after_the_refresh_period()
    {
        var clock = new FakeTimeProvider();
        var provider = new LiveInsightProvider(new ProcessInspector(ProcRoot), null, clock, TimeSpan.FromSeconds(30));
        var first = provider.GetInsight(MinerPid, null);

        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Same(first, provider.GetInsight(MinerPid, null));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.NotSame(first, provider.GetInsight(MinerPid, null));
    }

    [Fact]
    public void A_pid_that_never_existed_has_no_identity_and_no_insight()
    {
        var provider = new LiveInsightProvider(new ProcessInspector(ProcRoot), null, new FakeTimeProvider(), TimeSpan.FromSeconds(30));

        Assert.Null(provider.Describe(99999));
        Assert.Null(provider.GetInsight(99999, null));
    }
}
