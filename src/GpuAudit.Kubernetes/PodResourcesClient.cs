using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using GpuAudit.Kubernetes.Kubelet.V1;

namespace GpuAudit.Kubernetes;

/// <summary>
/// The kubelet's pod-resources API v1 (<c>List</c>) over its unix socket, with Grpc.Net.Client.
/// The kubelet is trusted, but the call must never hang the agent: every call has a deadline and
/// the response a size cap (a node lists at most a few hundred pods: kilobytes).
/// </summary>
public sealed class PodResourcesClient : IPodResourcesSource, IDisposable
{
    /// <summary>Where the kubelet serves the API (mounted read-only into the agent's pod).</summary>
    public const string DefaultSocket = "/var/lib/kubelet/pod-resources/kubelet.sock";

    /// <summary>Largest List response accepted: 8 MiB, far above a full node's few hundred pods.</summary>
    public const int DefaultMaxResponseBytes = 8 << 20;

    private readonly GrpcChannel _channel;
    private readonly PodResourcesLister.PodResourcesListerClient _client;
    private readonly TimeSpan _timeout;

    public PodResourcesClient(string socketPath, TimeSpan timeout, int maxResponseBytes = DefaultMaxResponseBytes)
    {
        SocketPath = socketPath;
        _timeout = timeout;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = timeout,
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };

        // The host part is never resolved: the connect callback dials the socket.
        _channel = GrpcChannel.ForAddress("http://kubelet", new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = maxResponseBytes,
            MaxSendMessageSize = 1024,
        });
        _client = new PodResourcesLister.PodResourcesListerClient(_channel);
    }

    public string SocketPath { get; }

    public string Describe => "kubelet pod-resources " + SocketPath;

    /// <summary>Every pod of the node with the GPU device ids it was given (pods without GPUs listed with none).</summary>
    public async Task<IReadOnlyList<PodDevices>> ListAsync(CancellationToken cancellationToken)
    {
        ListPodResourcesResponse response;
        try
        {
            // grpc-dotnet checks a deadline against the system clock itself, so it is stamped from
            // that clock; the pod map's own timeout (KubernetesPodMap) runs on its TimeProvider.
#pragma warning disable RS0030 // the wall clock is meant: gRPC's deadline is absolute system time
            response = await _client.ListAsync(new ListPodResourcesRequest(), deadline: DateTime.UtcNow + _timeout, cancellationToken: cancellationToken);
#pragma warning restore RS0030
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("pod-resources List cancelled", e, cancellationToken);
        }
        catch (RpcException e)
        {
            throw new PodSourceException($"{Describe}: {Explain(e)}", e);
        }

        var pods = new List<PodDevices>(response.PodResources.Count);
        foreach (var pod in response.PodResources)
        {
            List<string>? ids = null;
            foreach (var container in pod.Containers)
            {
                foreach (var devices in container.Devices)
                {
                    if (!GpuDeviceIds.IsGpuResource(devices.ResourceName))
                    {
                        continue;
                    }

                    ids ??= [];
                    foreach (var id in devices.DeviceIds)
                    {
                        ids.Add(id);
                    }
                }
            }

            pods.Add(new PodDevices(pod.Namespace, pod.Name, ids is null ? [] : ids));
        }

        return pods;
    }

    public void Dispose() => _channel.Dispose();

    private string Explain(RpcException e) => e.StatusCode switch
    {
        StatusCode.Unavailable when !File.Exists(SocketPath) => "no socket (not a Kubernetes node, or the pod-resources directory is not mounted)",
        StatusCode.Unavailable => "the kubelet does not answer on the socket (" + e.Status.Detail + ")",
        StatusCode.DeadlineExceeded => $"no answer within {_timeout.TotalSeconds:0.#} s",
        StatusCode.ResourceExhausted => "the response is larger than the cap (" + e.Status.Detail + ")",
        StatusCode.Unimplemented => "the kubelet does not serve pod-resources v1 List (Kubernetes 1.20 or newer is needed)",
        _ => e.StatusCode + ": " + e.Status.Detail,
    };
}
