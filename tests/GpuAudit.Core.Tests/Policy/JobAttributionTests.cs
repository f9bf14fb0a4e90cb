namespace GpuAudit.Core.Tests.Policy;

public sealed class JobAttributionTests
{
    private static readonly JobRef Own = new("100", "slurm-cgroup", "alice");
    private static readonly JobRef Map = new("100", "gpu-map", "alice");
    private static readonly JobRef Other = new("200", "gpu-map", "bob");

    [Fact]
    public void A_trusted_cgroup_that_agrees_with_the_map_keeps_the_process_attributed_to_the_map_job()
    {
        var attribution = JobAttribution.Resolve(Own, Map);

        Assert.Equal(AttributionSource.Process, attribution.Source);
        Assert.Same(Map, attribution.Job);
        Assert.True(attribution.IsAttributed);
    }

    [Fact]
    public void Without_a_map_a_trusted_cgroup_names_the_job()
    {
        var attribution = JobAttribution.Resolve(Own, null);

        Assert.Equal(AttributionSource.Process, attribution.Source);
        Assert.Same(Own, attribution.Job);
    }

    [Theory]
    [InlineData("slurm-env")]
    [InlineData("cgroup-claim")]
    public void A_claim_the_process_controls_names_no_job_and_is_unattributed(string source)
    {
        var attribution = JobAttribution.Resolve(new JobRef("4242", source), null);

        Assert.Equal(AttributionSource.Untrusted, attribution.Source);
        Assert.Null(attribution.Job);
        Assert.Equal("4242", attribution.Claimed!.Id);
        Assert.False(attribution.IsAttributed);
        Assert.Contains("a source the process controls", attribution.Explain(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_untrusted_claim_that_agrees_with_the_map_changes_nothing()
    {
        var attribution = JobAttribution.Resolve(new JobRef("100", "slurm-env"), Map);

        Assert.Equal(AttributionSource.GpuAllocation, attribution.Source);
        Assert.Same(Map, attribution.Job);
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
    public void Disagreement_is_unattributed_and_accounted_to_the_map_job_with_the_claim_as_evidence()
    {
        var attribution = JobAttribution.Resolve(Own, Other);

        Assert.Equal(AttributionSource.Conflict, attribution.Source);
        Assert.False(attribution.IsAttributed);
        Assert.Equal("200", attribution.Job!.Id);
        Assert.Equal("100", attribution.Claimed!.Id);
        Assert.Contains("claims job 100 (slurm-cgroup) but the GPU is allocated to job 200", attribution.Explain(), StringComparison.Ordinal);
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
