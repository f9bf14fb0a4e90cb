using GpuAudit.Core.Inspection;
using GpuAudit.Core.Policy;

namespace GpuAudit.Kubernetes;

/// <summary>
/// A pod as the auditor names it: <c>namespace/name</c> is its job id (what violations, reports,
/// <c>job_id</c> and namespace allowances use), <see cref="Purpose"/> what its
/// <c>gpuaudit.io/purpose</c> annotation or label declares.
/// </summary>
public sealed record PodIdentity(string Namespace, string Name)
{
    /// <summary>The annotation (or label) that declares a pod's purpose: training, inference, compute or any.</summary>
    public const string PurposeKey = "gpuaudit.io/purpose";

    public JobPurpose? Purpose { get; init; }

    public string JobId => Namespace + "/" + Name;

    /// <summary>The pod as a trusted job: only the kubelet (pod-resources, the kubepods cgroup) and the API server name it.</summary>
    public JobRef Job => field ??= new(JobId, JobSources.Kubernetes) { Purpose = Purpose };

    /// <summary>The pod as a job learnt from <paramref name="source"/> (a cgroup claim stays a claim).</summary>
    public JobRef ToJob(string source) => source == JobSources.Kubernetes ? Job : new(JobId, source) { Purpose = Purpose };
}

/// <summary>One pod's GPU devices as the kubelet's pod-resources API lists them.</summary>
public sealed record PodDevices(string Namespace, string Name, IReadOnlyList<string> GpuIds);

/// <summary>What the API server (or the kubelet's log directory) says about a pod the cgroups name by UID.</summary>
public sealed record PodMetadata(string Uid, string Namespace, string Name, JobPurpose? Purpose = null);
