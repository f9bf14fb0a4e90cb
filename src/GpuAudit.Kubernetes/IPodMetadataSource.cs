namespace GpuAudit.Kubernetes;

/// <summary>Pods of this node with their UIDs (and, from the API server, their declared purpose).</summary>
public interface IPodMetadataSource
{
    string Describe { get; }

    Task<IReadOnlyList<PodMetadata>> ListAsync(CancellationToken cancellationToken);
}
