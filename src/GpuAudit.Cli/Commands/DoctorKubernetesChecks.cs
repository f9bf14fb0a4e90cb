using GpuAudit.Kubernetes;

namespace GpuAudit.Cli.Commands;

/// <summary>
/// Doctor's Kubernetes checks: can the kubelet's pod-resources API be read (the GPU→pod map), and
/// can pod UIDs be named (the kubelet's log directory). Off Kubernetes (no socket) this is one note.
/// </summary>
internal static class DoctorKubernetesChecks
{
    public static void Run(DoctorReport report, string socket, string podLogs)
    {
        if (!File.Exists(socket))
        {
            report.Note($"no kubelet pod-resources socket at {socket}: not a Kubernetes node (or the directory is not mounted), so no GPU→pod map");
            return;
        }

        using (var client = new PodResourcesClient(socket, TimeSpan.FromSeconds(3)))
        {
            try
            {
                var pods = client.ListAsync(CancellationToken.None).GetAwaiter().GetResult();
                var map = NodePodMap.Build(pods, []);
                report.Ok($"pod-resources {socket}: {map.Pods} pod(s), {map.AllocatedGpus} GPU(s) allocated to one pod each");
            }
            catch (PodSourceException e)
            {
                report.Fail(e.Message, "mount the host's /var/lib/kubelet/pod-resources into the agent's pod (deploy/kubernetes/base); the kubelet must be 1.20 or newer");
            }
        }

        try
        {
            var named = new PodLogDirectory(podLogs).ListAsync(CancellationToken.None).GetAwaiter().GetResult();
            report.Ok($"{named.Count} pod(s) named by UID from {podLogs}");
        }
        catch (PodSourceException e)
        {
            report.Warn(e.Message + ": processes are known by pod UID only and disagree with their GPU's pod", "mount the host's /var/log/pods read-only at " + podLogs);
        }
    }
}
