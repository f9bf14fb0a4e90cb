using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using GpuAudit.Core.Policy;

namespace GpuAudit.Kubernetes;

/// <summary>
/// This node's pods from the API server (<c>GET /api/v1/pods?fieldSelector=spec.nodeName=NODE</c>)
/// with the agent's service-account token: UIDs for the pods cgroups name, and the purpose a pod
/// declares in its <c>gpuaudit.io/purpose</c> annotation or label (pod-resources carries neither).
/// Optional: it needs a token and RBAC (<c>list pods</c>); without it pods are still named through
/// pod-resources and the kubelet's log directory, with the policy's default purpose. Bounded: one
/// call per refresh, a timeout, and a response cap.
/// </summary>
public sealed class KubernetesApiPods : IPodMetadataSource, IDisposable
{
    /// <summary>Where Kubernetes mounts a pod's service-account token and the cluster CA.</summary>
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>Largest pod list accepted: 32 MiB (a full node's pods are a few MiB).</summary>
    public const int DefaultMaxResponseBytes = 32 << 20;

    private readonly HttpClient _http;
    private readonly Uri _pods;
    private readonly string? _tokenPath;
    private readonly int _maxBytes;

    public KubernetesApiPods(HttpClient http, Uri apiServer, string nodeName, string? tokenPath, int maxResponseBytes = DefaultMaxResponseBytes)
    {
        _http = http;
        _tokenPath = tokenPath;
        _maxBytes = maxResponseBytes;
        _pods = new Uri(apiServer, "api/v1/pods?fieldSelector=" + Uri.EscapeDataString("spec.nodeName=" + nodeName));
        Describe = "Kubernetes API " + new Uri(apiServer, "api/v1/pods");
    }

    public string Describe { get; }

    /// <summary>
    /// The in-cluster API server (KUBERNETES_SERVICE_HOST/PORT, the mounted token and CA), or null
    /// with the reason when this pod has no service account mounted.
    /// </summary>
    public static KubernetesApiPods? InCluster(string nodeName, TimeSpan timeout, out string? reason)
    {
        var host = Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST");
        var port = Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_PORT") ?? "443";
        var token = Path.Combine(ServiceAccountDirectory, "token");
        var ca = Path.Combine(ServiceAccountDirectory, "ca.crt");
        if (string.IsNullOrEmpty(host) || !File.Exists(token) || !File.Exists(ca))
        {
            reason = "not in a pod with a service-account token (KUBERNETES_SERVICE_HOST and " + ServiceAccountDirectory + ")";
            return null;
        }

        reason = null;
        var authority = X509CertificateLoader.LoadCertificateFromFile(ca);
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = timeout,
            SslOptions =
            {
                // The cluster CA only, not the system store.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is null)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(authority);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(new X509Certificate2(certificate));
                },
            },
        };
        var hostPart = host.Contains(':', StringComparison.Ordinal) ? "[" + host + "]" : host;
        return new KubernetesApiPods(new HttpClient(handler) { Timeout = timeout }, new Uri($"https://{hostPart}:{port}/"), nodeName, token);
    }

    public async Task<IReadOnlyList<PodMetadata>> ListAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _pods);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (_tokenPath is not null)
        {
            // Re-read every call: projected service-account tokens are rotated by the kubelet.
#pragma warning disable RS0030 // the agent's own token, written by the kubelet: no watched process controls it
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(_tokenPath, cancellationToken)).Trim());
#pragma warning restore RS0030
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new PodSourceException($"{Describe}: HTTP {(int)response.StatusCode}{((int)response.StatusCode is 401 or 403 ? " (the service account needs list on pods: deploy/kubernetes/rbac.yaml)" : string.Empty)}");
        }

        var body = await ReadBoundedAsync(response.Content, cancellationToken);
        try
        {
            return Parse(body);
        }
        catch (JsonException e)
        {
            throw new PodSourceException($"{Describe}: not a pod list ({e.Message})", e);
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The pods of a PodList: UID, namespace, name, and the declared purpose (annotation first, then label).</summary>
    public static List<PodMetadata> Parse(ReadOnlyMemory<byte> podList)
    {
        using var document = JsonDocument.Parse(podList, new JsonDocumentOptions { MaxDepth = 64 });
        var pods = new List<PodMetadata>();
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
        {
            throw new JsonException("no items array");
        }

        foreach (var item in items.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("metadata", out var metadata) || metadata.ValueKind != JsonValueKind.Object
                || String(metadata, "uid") is not { } uid || String(metadata, "namespace") is not { } ns || String(metadata, "name") is not { } name)
            {
                continue;
            }

            var declared = Declared(metadata, "annotations") ?? Declared(metadata, "labels");
            pods.Add(new PodMetadata(uid, ns, name, JobPurposes.TryParse(declared, out var purpose) ? purpose : null));
        }

        return pods;
    }

    private static string? Declared(JsonElement metadata, string map) =>
        metadata.TryGetProperty(map, out var values) && values.ValueKind == JsonValueKind.Object ? String(values, PodIdentity.PurposeKey) : null;

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private async Task<ReadOnlyMemory<byte>> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > _maxBytes)
        {
            throw new PodSourceException($"{Describe}: the pod list is {content.Headers.ContentLength} bytes, over the {_maxBytes}-byte cap");
        }

        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > _maxBytes)
            {
                throw new PodSourceException($"{Describe}: the pod list is over the {_maxBytes}-byte cap");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }
}
