using GpuAudit.Core.Inspection;
using GpuAudit.Core.Policy;

namespace GpuAudit.Core.Tests.Policy;

public sealed class JobAttributionTests
{
    private static readonly JobRef Own = new("100", "slurm-cgroup", "alice");
    private static readonly JobRef Map = new("100", "gpu-map", "alice");
    private static readonly JobRef Other = new("200", "gpu-map", "bob");

    [Fact]
    public void The_process_own_job_wins_and_an_agreeing_map_keeps_it_attributed()
    {
        var attribution = JobAttribution.Resolve(Own, Map);

        Assert.Equal(AttributionSource.Process, attribution.Source);
        Assert.Same(Own, attribution.Job);
        Assert.True(attribution.IsAttributed);
    }

    [Fact]
    public void Without_its_own_job_a_process_belongs_to_the_GPU_allocation()
    {
        var attribution = JobAttribution.Resolve(null, Other);

        Assert.Equal(AttributionSource.GpuAllocation, attribution.Source);
        Assert.Equal("200", attribution.Job!.Id);
        Assert.Equal("bob", attribution.User(null));
    }

    [Fact]
    public void Disagreement_is_unattributed_and_reported_under_the_process_claim()
    {
        var attribution = JobAttribution.Resolve(Own, Other);

        Assert.Equal(AttributionSource.Conflict, attribution.Source);
        Assert.False(attribution.IsAttributed);
        Assert.Equal("100", attribution.Job!.Id);
        Assert.Contains("allocated to job 200", attribution.Explain(), StringComparison.Ordinal);
    }

    [Fact]
    public void No_job_anywhere_is_unattributed()
    {
        var attribution = JobAttribution.Resolve(null, null);

        Assert.Equal(AttributionSource.None, attribution.Source);
        Assert.Null(attribution.Job);
        Assert.False(attribution.IsAttributed);
    }
}
