namespace GpuAudit.Kubernetes;

/// <summary>The kubelet's pod-resources List: which pod holds which GPU.</summary>
public interface IPodResourcesSource
{
    /// <summary>Where it reads from, for log lines and doctor.</summary>
    string Describe { get; }

    Task<IReadOnlyList<PodDevices>> ListAsync(CancellationToken cancellationToken);
}
