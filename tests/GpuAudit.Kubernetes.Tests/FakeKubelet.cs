using Grpc.Core;
using GpuAudit.Kubernetes.Kubelet.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GpuAudit.Kubernetes.Tests;

/// <summary>
/// A kubelet's pod-resources endpoint in-process: Grpc.AspNetCore on Kestrel, HTTP/2 on a unix
/// socket, serving the kubelet's v1 proto. <see cref="Respond"/> decides each List answer (pods,
/// a stall, an error), so the client is tested against the wire protocol it meets on a node.
/// </summary>
internal sealed class FakeKubelet : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeKubelet(WebApplication app, string socket)
    {
        _app = app;
        Socket = socket;
    }

    public string Socket { get; }

    public Func<ServerCallContext, Task<ListPodResourcesResponse>> Respond { get; set; } = _ => Task.FromResult(new ListPodResourcesResponse());

    public int Calls;

    public static async Task<FakeKubelet> StartAsync(string socket)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socket, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        FakeKubelet? kubelet = null;
        builder.Services.AddSingleton(_ => new Lister(() => kubelet!));
        var app = builder.Build();
        app.MapGrpcService<Lister>();
        kubelet = new FakeKubelet(app, socket);
        await app.StartAsync();
        return kubelet;
    }

    /// <summary>A List response: each pod as (namespace, name, resource name, device ids).</summary>
    public static ListPodResourcesResponse Pods(params (string Namespace, string Name, string Resource, string[] Ids)[] pods)
    {
        var response = new ListPodResourcesResponse();
        foreach (var (ns, name, resource, ids) in pods)
        {
            var container = new ContainerResources { Name = "main" };
            if (ids.Length > 0)
            {
                var devices = new ContainerDevices { ResourceName = resource };
                devices.DeviceIds.AddRange(ids);
                container.Devices.Add(devices);
            }

            var pod = new PodResources { Namespace = ns, Name = name };
            pod.Containers.Add(container);
            response.PodResources.Add(pod);
        }

        return response;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The fake kubelet's gRPC service: counts calls and answers as the test says.</summary>
internal sealed class Lister(Func<FakeKubelet> kubelet) : PodResourcesLister.PodResourcesListerBase
{
    public override Task<ListPodResourcesResponse> List(ListPodResourcesRequest request, ServerCallContext context)
    {
        var k = kubelet();
        Interlocked.Increment(ref k.Calls);
        return k.Respond(context);
    }
}
