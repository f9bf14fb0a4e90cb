using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GpuAudit.Kubernetes.Tests;

/// <summary>The API server's pod list (UIDs and gpuaudit.io/purpose) read from a fake API server on a loopback port.</summary>
public sealed class ApiServerTests : IAsyncLifetime
{
    private const string PodList = """
        {"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"42"},"items":[
          {"metadata":{"name":"trainer-0","namespace":"research","uid":"0f8b6a2e-58c1-4b7e-9a1d-3c2b1a0f9e8d",
            "labels":{"app":"trainer","gpuaudit.io/purpose":"inference"},"annotations":{"gpuaudit.io/purpose":"training"}},"spec":{"nodeName":"gpu-7"}},
          {"metadata":{"name":"llm-7f9c","namespace":"serving","uid":"1a2b3c4d-0000-4000-8000-000000000001","labels":{"gpuaudit.io/purpose":"inference"}}},
          {"metadata":{"name":"odd","namespace":"serving","uid":"1a2b3c4d-0000-4000-8000-000000000002","annotations":{"gpuaudit.io/purpose":"mining"}}},
          {"metadata":{"name":"no-uid","namespace":"x"}},
          {"spec":{}}, 7, "x"
        ]}
        """;

    private readonly string _token = Path.GetTempFileName();
    private WebApplication _app = null!;
    private Uri _url = null!;
    private string? _query;
    private string? _authorization;
    private int _status = 200;
    private string _body = PodList;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_token, "token-1\n");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var port = FreePort();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        _app = builder.Build();
        _app.MapGet("/api/v1/pods", (HttpContext context) =>
        {
            _query = context.Request.QueryString.Value;
            _authorization = context.Request.Headers.Authorization;
            return Results.Text(_body, "application/json", statusCode: _status);
        });
        await _app.StartAsync();
        _url = new Uri($"http://127.0.0.1:{port}/");
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        File.Delete(_token);
    }

    [Fact]
    public async Task Pods_of_this_node_with_their_uids_and_declared_purpose()
    {
        using var api = new KubernetesApiPods(new HttpClient(), _url, "gpu-7", _token);

        var pods = await api.ListAsync(CancellationToken.None);

        Assert.Equal("?fieldSelector=spec.nodeName%3Dgpu-7", _query);
        Assert.Equal("Bearer token-1", _authorization);
        Assert.Equal(3, pods.Count);
        // The annotation wins over the label; a value that is no purpose declares none.
        Assert.Equal(new PodMetadata("0f8b6a2e-58c1-4b7e-9a1d-3c2b1a0f9e8d", "research", "trainer-0", JobPurpose.Training), pods[0]);
        Assert.Equal(JobPurpose.Inference, pods[1].Purpose);
        Assert.Null(pods[2].Purpose);
    }

    [Fact]
    public async Task The_purpose_reaches_the_job_of_the_pods_gpu()
    {
        await using var kubelet = await FakeKubelet.StartAsync(Path.Combine(Path.GetTempPath(), $"gpuaudit-k8s-{Guid.NewGuid():N}.sock"));
        kubelet.Respond = _ => Task.FromResult(FakeKubelet.Pods(("research", "trainer-0", "nvidia.com/gpu", ["GPU-1"])));
        using var map = new KubernetesPodMap(
            new PodResourcesClient(kubelet.Socket, TimeSpan.FromSeconds(2)),
            [new KubernetesApiPods(new HttpClient(), _url, "gpu-7", null)],
            TimeProvider.System, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2), _ => { });

        await map.RefreshAsync(CancellationToken.None);

        var job = map.JobFor(new Core.Samples.GpuDevice(0, "GPU-1", "H100", "580", null, true));
        Assert.Equal(("research/trainer-0", JobPurpose.Training), (job?.Id, job?.Purpose));
        Assert.Equal((JobPurpose.Training, "the GPU map"), AuditPolicy.Default.PurposeOf(job));
    }

    [Theory]
    [InlineData(403, "{}", "HTTP 403 (the service account needs list on pods")]
    [InlineData(200, "[1,2]", "not a pod list")]
    [InlineData(200, "{\"items\":", "not a pod list")]
    public async Task A_refusal_or_a_bad_body_is_one_line(int status, string body, string expected)
    {
        _status = status;
        _body = body;
        using var api = new KubernetesApiPods(new HttpClient(), _url, "gpu-7", null);

        var error = await Assert.ThrowsAsync<PodSourceException>(() => api.ListAsync(CancellationToken.None));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pod_list_over_the_cap_is_refused()
    {
        using var api = new KubernetesApiPods(new HttpClient(), _url, "gpu-7", null, maxResponseBytes: 256);

        var error = await Assert.ThrowsAsync<PodSourceException>(() => api.ListAsync(CancellationToken.None));

        Assert.Contains("cap", error.Message, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
