namespace GpuAudit.Kubernetes.Tests;

public sealed class PodLogDirectoryTests
{
    [Theory]
    [InlineData("research_trainer-0_0f8b6a2e-58c1-4b7e-9a1d-3c2b1a0f9e8d", "research", "trainer-0")]
    [InlineData("kube-system_coredns-5d78c9869d-x2x9k_1a2b3c4d-0000-4000-8000-000000000001", "kube-system", "coredns-5d78c9869d-x2x9k")]
    public void Names_split_into_namespace_pod_and_uid(string directory, string ns, string pod)
    {
        var parsed = PodLogDirectory.Parse(directory);

        Assert.Equal((ns, pod), (parsed?.Namespace, parsed?.Name));
        Assert.Equal(directory[^36..], parsed?.Uid);
    }

    [Theory]
    [InlineData("research_trainer-0")]
    [InlineData("research_trainer_0_0f8b6a2e-58c1-4b7e-9a1d-3c2b1a0f9e8d")]
    [InlineData("_trainer-0_0f8b6a2e-58c1-4b7e-9a1d-3c2b1a0f9e8d")]
    [InlineData("research_trainer-0_not-a-uid")]
    public void Anything_else_is_not_a_pod(string directory) => Assert.Null(PodLogDirectory.Parse(directory));

    [Fact]
    public async Task A_missing_directory_is_one_clear_error()
    {
        var error = await Assert.ThrowsAsync<PodSourceException>(() => new PodLogDirectory("/nonexistent/pods").ListAsync(CancellationToken.None));

        Assert.Contains("not found", error.Message, StringComparison.Ordinal);
    }
}
