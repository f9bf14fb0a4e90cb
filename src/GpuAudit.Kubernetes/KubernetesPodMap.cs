using GpuAudit.Core.Inspection;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Samples;

namespace GpuAudit.Kubernetes;

/// <summary>
/// The GPU→pod map of a Kubernetes node as the pipeline's <see cref="IGpuJobMap"/>: a GPU's job is
/// the pod the kubelet allocated it to (<c>namespace/name</c>), and a process whose cgroup names a
/// pod by UID is given the same name, so the two agree (and a pod running on a GPU allocated to
/// another pod is a conflict). The poll thread only reads the latest <see cref="NodePodMap"/>;
/// <see cref="RunAsync"/> rebuilds it every refresh off the poll thread, each source bounded by
/// its own timeout. A source that fails is left out of the next map (a clean degrade: no stale
/// pods), and each change of a source's state is one log line.
/// </summary>
public sealed class KubernetesPodMap : IGpuJobMap, IDisposable
{
    private readonly IPodResourcesSource? _resources;
    private readonly IReadOnlyList<IPodMetadataSource> _metadata;
    private readonly TimeProvider _time;
    private readonly TimeSpan _refresh;
    private readonly TimeSpan _timeout;
    private readonly Action<string> _warn;
    private readonly Dictionary<string, string?> _lastError = [];
    private volatile NodePodMap _map = NodePodMap.Empty;
    private volatile PodMapStatus _status;

    public KubernetesPodMap(IPodResourcesSource? resources, IReadOnlyList<IPodMetadataSource> metadata, TimeProvider time, TimeSpan refresh, TimeSpan timeout, Action<string> warn)
    {
        _resources = resources;
        _metadata = metadata;
        _time = time;
        _refresh = refresh;
        _timeout = timeout;
        _warn = warn;
        _status = new PodMapStatus(null, [], NodePodMap.Empty);
    }

    public NodePodMap Current => _map;

    /// <summary>The last refresh: when, and each source's error (null: read).</summary>
    public PodMapStatus Status => _status;

    public JobRef? JobFor(GpuDevice gpu) => _map.ForGpu(gpu)?.Job;

    /// <summary>A pod UID from a cgroup becomes <c>namespace/name</c>; a claim stays a claim (its source is kept).</summary>
    public JobRef? ProcessJob(JobRef? processJob) =>
        processJob is { Source: JobSources.Kubernetes or JobSources.CgroupClaim } && _map.ForUid(processJob.Id) is { } pod
            ? pod.ToJob(processJob.Source)
            : processJob;

    /// <summary>Refreshes every refresh period until cancelled (call <see cref="RefreshAsync"/> once first, before the first poll).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_refresh, _time, cancellationToken);
                await RefreshAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        (_resources as IDisposable)?.Dispose();
        foreach (var source in _metadata)
        {
            (source as IDisposable)?.Dispose();
        }
    }

    /// <summary>Reads every source once (each within the timeout) and publishes the new map.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var errors = new List<(string Source, string? Error)>();
        IReadOnlyList<PodDevices> devices = [];
        if (_resources is not null)
        {
            (devices, var error) = await ReadAsync(_resources.Describe, _resources.ListAsync, cancellationToken);
            errors.Add((_resources.Describe, error));
            Report(_resources.Describe, error, "no GPU→pod map: GPUs are attributed to pods by their processes' cgroups only");
        }

        var metadata = new List<PodMetadata>();
        foreach (var source in _metadata)
        {
            var (pods, error) = await ReadAsync(source.Describe, source.ListAsync, cancellationToken);
            metadata.AddRange(pods);
            errors.Add((source.Describe, error));
            Report(source.Describe, error, "pods it would name by UID stay known by UID only");
        }

        var map = NodePodMap.Build(devices, metadata);
        _map = map;
        _status = new PodMapStatus(_time.GetUtcNow(), errors, map);
    }

    private async Task<(IReadOnlyList<T> Items, string? Error)> ReadAsync<T>(string name, Func<CancellationToken, Task<IReadOnlyList<T>>> list, CancellationToken cancellationToken)
    {
        using var expiry = new CancellationTokenSource(_timeout, _time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expiry.Token);
        try
        {
            return (await list(timeout.Token), null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return ([], $"{name}: no answer within {_timeout.TotalSeconds:0.#} s");
        }
        catch (PodSourceException e)
        {
            return ([], e.Message);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            return ([], $"{name}: {e.Message}");
        }
    }

    /// <summary>One line when a source starts failing (or fails differently), one when it recovers.</summary>
    private void Report(string source, string? error, string consequence)
    {
        var known = _lastError.TryGetValue(source, out var last);
        if (known && last == error)
        {
            return;
        }

        _lastError[source] = error;
        if (error is not null)
        {
            _warn($"{error}; {consequence}");
        }
        else if (known)
        {
            _warn($"{source}: read again");
        }
    }
}

/// <summary>What the last refresh of a <see cref="KubernetesPodMap"/> found (null time: not refreshed yet).</summary>
public sealed record PodMapStatus(DateTimeOffset? RefreshedAt, IReadOnlyList<(string Source, string? Error)> Sources, NodePodMap Map);
