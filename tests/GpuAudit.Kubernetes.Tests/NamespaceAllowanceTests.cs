using GpuAudit.Core.Replay;

namespace GpuAudit.Kubernetes.Tests;

/// <summary>
/// A real H100 hash recording on a GPU the fake kubelet gave to a pod: the violation is the pod's
/// (namespace/name), and a namespace allowance covers it only in its own namespace.
/// </summary>
public sealed class NamespaceAllowanceTests : IAsyncLifetime
{
    private readonly string _socket = Path.Combine(Path.GetTempPath(), $"gpuaudit-k8s-{Guid.NewGuid():N}.sock");
    private FakeKubelet _kubelet = null!;

    public async Task InitializeAsync() => _kubelet = await FakeKubelet.StartAsync(_socket);

    public async Task DisposeAsync() => await _kubelet.DisposeAsync();

    [Theory]
    [InlineData("research", true)]
    [InlineData("serving", false)]
    public async Task A_namespace_allowance_covers_the_pods_of_its_namespace_only(string allowedNamespace, bool allowed)
    {
        using var source = new TraceReplaySource([RepoPaths.Trace("hash_sha256")], new ReplayOptions { Fast = true }, TimeProvider.System);
        _kubelet.Respond = _ => Task.FromResult(FakeKubelet.Pods(("research", "hasher-0", "nvidia.com/gpu", [source.Devices[0].Uuid])));
        using var pods = new KubernetesPodMap(new PodResourcesClient(_socket, TimeSpan.FromSeconds(2)), [], TimeProvider.System, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2), _ => { });
        await pods.RefreshAsync(CancellationToken.None);
        var policy = PolicyParser.Parse("policy.json", $$"""{"allowances": [{"rules": ["hash_compute"], "namespace": "{{allowedNamespace}}", "reason": "hash benchmark"}]}""", new Dictionary<string, string>());
        var pipeline = new AuditPipeline(source.Devices, new RecordedInsightProvider(), pods, new PolicyEngine(policy, "gpu-7"));

        var opened = new List<Violation>();
        while (await source.NextAsync(CancellationToken.None) is { } tick)
        {
            opened.AddRange(pipeline.Process(tick).Policy.Opened);
        }

        var hash = Assert.Single(opened, v => v.Rule == PolicyRule.HashCompute);
        Assert.Equal("research/hasher-0", hash.Job);
        Assert.Equal(allowed, hash.IsAllowed);
    }
}
