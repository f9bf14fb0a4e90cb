using System.Diagnostics;
using GpuAudit.Kubernetes.Kubelet.V1;

namespace GpuAudit.Kubernetes.Tests;

/// <summary>The GPU→pod map read from a fake kubelet speaking the real pod-resources proto on a unix socket.</summary>
public sealed class PodResourcesTests : IAsyncLifetime
{
    private const string Gpu0 = "GPU-6d4c0b5e-8f1a-4e0c-9a55-0d1c2e3f4a50";
    private const string Gpu1 = "GPU-6d4c0b5e-8f1a-4e0c-9a55-0d1c2e3f4a51";
    private const string Gpu2 = "GPU-6d4c0b5e-8f1a-4e0c-9a55-0d1c2e3f4a52";
    private const string TrainerUid = "0f8b6a2e-58c1-4b7e-9a1d-3c2b1a0f9e8d";

    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-k8s-").FullName;
    private readonly List<string> _warnings = [];
    private FakeKubelet _kubelet = null!;

    public async Task InitializeAsync() => _kubelet = await FakeKubelet.StartAsync(Path.Combine(_dir, "kubelet.sock"));

    public async Task DisposeAsync()
    {
        await _kubelet.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Gpus_are_named_by_the_pod_the_kubelet_gave_them_and_cgroup_uids_by_the_same_name()
    {
        _kubelet.Respond = _ => Task.FromResult(FakeKubelet.Pods(
            ("research", "trainer-0", "nvidia.com/gpu", [Gpu0, Gpu1]),
            ("serving", "llm-7f9c", "nvidia.com/gpu", [Gpu2 + "::0"]),
            ("kube-system", "coredns-1", "", []),
            ("other", "nic-user", "example.com/nic", ["eth7"])));
        Directory.CreateDirectory(Path.Combine(_dir, "pods", $"research_trainer-0_{TrainerUid}"));
        using var map = Map(new PodLogDirectory(Path.Combine(_dir, "pods")));

        await map.RefreshAsync(CancellationToken.None);

        Assert.Equal("research/trainer-0", map.JobFor(Device(0, Gpu0))?.Id);
        Assert.Equal("research/trainer-0", map.JobFor(Device(1, Gpu1))?.Id);
        Assert.Equal("serving/llm-7f9c", map.JobFor(Device(2, Gpu2))?.Id);
        Assert.Null(map.JobFor(Device(3, "GPU-not-allocated")));
        Assert.True(map.JobFor(Device(0, Gpu0))!.IsTrusted);
        Assert.Equal(4, map.Current.Pods);

        // A process's cgroup names its pod by UID: it gets the same name, so it agrees with the GPU's.
        var fromCgroup = map.ProcessJob(CgroupIdentity.Parse($"0::/kubepods.slice/kubepods-pod{TrainerUid.Replace('-', '_')}.slice/cri-containerd-{new string('a', 64)}.scope").Job);
        Assert.Equal(("research/trainer-0", JobSources.Kubernetes), (fromCgroup?.Id, fromCgroup?.Source));
        Assert.Equal(AttributionSource.Process, JobAttribution.Resolve(fromCgroup, map.JobFor(Device(0, Gpu0))).Source);
        Assert.Empty(_warnings);
    }

    [Fact]
    public async Task A_gpu_shared_by_several_pods_names_none_of_them()
    {
        _kubelet.Respond = _ => Task.FromResult(FakeKubelet.Pods(
            ("a", "one", "nvidia.com/gpu.shared", [Gpu0 + "::0"]),
            ("b", "two", "nvidia.com/gpu.shared", [Gpu0 + "::1"])));
        using var map = Map();

        await map.RefreshAsync(CancellationToken.None);

        Assert.Null(map.JobFor(Device(0, Gpu0)));
    }

    [Fact]
    public async Task Index_device_ids_name_gpus_by_index()
    {
        _kubelet.Respond = _ => Task.FromResult(FakeKubelet.Pods(("ml", "job-1", "nvidia.com/gpu", ["1"])));
        using var map = Map();

        await map.RefreshAsync(CancellationToken.None);

        Assert.Equal("ml/job-1", map.JobFor(Device(1, Gpu1))?.Id);
        Assert.Null(map.JobFor(Device(0, Gpu0)));
    }

    [Fact]
    public async Task A_kubelet_that_never_answers_costs_one_timeout_and_leaves_no_map()
    {
        _kubelet.Respond = async context =>
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
            return new ListPodResourcesResponse();
        };
        using var map = Map();
        var clock = Stopwatch.StartNew();

        await map.RefreshAsync(CancellationToken.None);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"refresh took {clock.Elapsed}");
        Assert.Null(map.JobFor(Device(0, Gpu0)));
        Assert.Contains(_warnings, w => w.Contains("no answer within 1 s", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_response_over_the_cap_is_refused()
    {
        var many = Enumerable.Range(0, 2000).Select(i => ("ns", $"pod-{i}", "nvidia.com/gpu", new[] { $"GPU-{i:D8}-aaaa-bbbb-cccc-dddddddddddd" })).ToArray();
        _kubelet.Respond = _ => Task.FromResult(FakeKubelet.Pods(many));
        using var map = Map(maxResponseBytes: 16 * 1024);

        await map.RefreshAsync(CancellationToken.None);

        Assert.Equal(0, map.Current.Pods);
        Assert.Contains(_warnings, w => w.Contains("larger than the cap", StringComparison.Ordinal));
    }

    [Fact]
    public async Task No_socket_is_one_log_line_however_many_refreshes_then_one_when_it_comes_back()
    {
        await _kubelet.DisposeAsync();
        File.Delete(_kubelet.Socket);
        using var map = Map();

        await map.RefreshAsync(CancellationToken.None);
        await map.RefreshAsync(CancellationToken.None);

        var line = Assert.Single(_warnings);
        TextAssert.ContainsAll(
            line,
            "no socket",
            "no GPU→pod map");
        Assert.Equal("no socket (not a Kubernetes node, or the pod-resources directory is not mounted)", map.Status.Sources.Single().Error?.Split(": ", 2)[1]);

        _kubelet = await FakeKubelet.StartAsync(_kubelet.Socket);
        _kubelet.Respond = _ => Task.FromResult(FakeKubelet.Pods(("research", "trainer-0", "nvidia.com/gpu", [Gpu0])));
        await map.RefreshAsync(CancellationToken.None);

        Assert.Equal(2, _warnings.Count);
        Assert.EndsWith("read again", _warnings[1], StringComparison.Ordinal);
        Assert.Equal("research/trainer-0", map.JobFor(Device(0, Gpu0))?.Id);
    }

    [Fact]
    public async Task The_refresh_loop_runs_every_period_off_the_caller()
    {
        _kubelet.Respond = _ => Task.FromResult(FakeKubelet.Pods(("research", "trainer-0", "nvidia.com/gpu", [Gpu0])));
        var time = new FakeTimeProvider();
        using var client = new PodResourcesClient(_kubelet.Socket, TimeSpan.FromSeconds(1));
        // The read's timeout runs on the fake clock too: an hour of it, so the 10 s steps that start
        // a refresh never time out the one in flight (a slow machine answers within a step or two).
        using var map = new KubernetesPodMap(client, [], time, TimeSpan.FromSeconds(10), TimeSpan.FromHours(1), _warnings.Add);
        using var stop = new CancellationTokenSource();

        var loop = Task.Run(() => map.RunAsync(stop.Token));
        Assert.Null(map.JobFor(Device(0, Gpu0)));
        for (var i = 0; i < 200 && map.Status.RefreshedAt is null; i++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(20);
        }

        Assert.Equal("research/trainer-0", map.JobFor(Device(0, Gpu0))?.Id);
        await stop.CancelAsync();
        await loop;
    }

    private KubernetesPodMap Map(IPodMetadataSource? metadata = null, int maxResponseBytes = PodResourcesClient.DefaultMaxResponseBytes) =>
        new(new PodResourcesClient(_kubelet.Socket, TimeSpan.FromSeconds(1), maxResponseBytes), metadata is null ? [] : [metadata], TimeProvider.System, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1), _warnings.Add);

    private static GpuDevice Device(int index, string uuid) => new(index, uuid, "NVIDIA H100 80GB HBM3", "580", 85520809984, true);
}
