using System.CommandLine;
using GpuAudit.Core;
using GpuAudit.Kubernetes;

namespace GpuAudit.Cli.Hosting;

/// <summary>
/// The agent's Kubernetes flags and the pod map they make: pod-resources for the GPU→pod map, the
/// kubelet's log directory and (optionally) the API server for pod UIDs and declared purposes.
/// </summary>
internal sealed record KubernetesOptions(Option<string> PodResources, Option<string> PodLogs, Option<string> Api, Option<string?> NodeName, Option<double> Refresh)
{
    public const string Off = "off";

    public IEnumerable<Option> All => [PodResources, PodLogs, Api, NodeName, Refresh];

    public static KubernetesOptions Create() => new(
        new Option<string>("--pod-resources") { Description = "The kubelet's pod-resources socket (GPU→pod map), or off.", DefaultValueFactory = _ => PodResourcesClient.DefaultSocket },
        new Option<string>("--pod-logs") { Description = "The kubelet's pod log directory (pod UIDs of cgroups → namespace/name), or off.", DefaultValueFactory = _ => PodLogDirectory.DefaultDirectory },
        new Option<string>("--kubernetes-api") { Description = "Pod UIDs and gpuaudit.io/purpose from the API server: auto (in-cluster when a service-account token is mounted), off, or a base URL (e.g. kubectl proxy's).", DefaultValueFactory = _ => "auto" },
        new Option<string?>("--node-name") { Description = "This node's Kubernetes name (default: $NODE_NAME, else the host name)." },
        new Option<double>("--pod-refresh") { Description = "Seconds between reads of the pod map.", DefaultValueFactory = _ => 10 });

    /// <summary>
    /// The pod map, or null off Kubernetes: when the pod-resources socket is not there at start
    /// (and was not named explicitly) this is not a Kubernetes node, said in one line.
    /// </summary>
    public KubernetesPodMap? Build(ParseResult parse, Action<string> warn)
    {
        var refresh = parse.GetValue(Refresh);
        if (refresh is < 1 or > 3600)
        {
            throw new UserInputException("--pod-refresh must be between 1 and 3600 seconds");
        }

        var socket = parse.GetValue(PodResources)!;
        if (socket == Off)
        {
            return null;
        }

        if (!File.Exists(socket) && parse.GetResult(PodResources) is null or { Implicit: true })
        {
            warn($"no kubelet pod-resources socket at {socket}: not a Kubernetes node, so no GPU→pod map (--pod-resources PATH names another)");
            return null;
        }

        var timeout = TimeSpan.FromSeconds(Math.Min(5, refresh));
        var metadata = new List<IPodMetadataSource>();
        if (parse.GetValue(PodLogs) is { } logs and not Off)
        {
            metadata.Add(new PodLogDirectory(logs));
        }

        var node = parse.GetValue(NodeName) ?? Environment.GetEnvironmentVariable("NODE_NAME") ?? Environment.MachineName;
        switch (parse.GetValue(Api))
        {
            case Off:
                break;
            case "auto":
                if (KubernetesApiPods.InCluster(node, timeout, out var reason) is { } inCluster)
                {
                    metadata.Add(inCluster);
                }
                else
                {
                    warn($"Kubernetes API not used ({reason}): pods' gpuaudit.io/purpose is not read; pods get the policy's default purpose");
                }

                break;
            case { } url when Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var baseUrl) && baseUrl.Scheme is "http" or "https":
                metadata.Add(new KubernetesApiPods(new HttpClient { Timeout = timeout }, baseUrl, node, null));
                break;
            case var other:
                throw new UserInputException($"--kubernetes-api \"{other}\" is not auto, off or an http(s) URL");
        }

        return new KubernetesPodMap(new PodResourcesClient(socket, timeout), metadata, TimeProvider.System, TimeSpan.FromSeconds(refresh), timeout, warn);
    }
}
