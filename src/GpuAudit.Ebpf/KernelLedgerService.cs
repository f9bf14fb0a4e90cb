using System.Collections.Concurrent;
using GpuAudit.Core.Kernels;
using GpuAudit.Linux;

namespace GpuAudit.Ebpf;

/// <summary>
/// Runs the kernel ledger on its own thread: attaches the probes to each libcuda file that a
/// watched process maps (once per file: one attach covers every process mapping it), drains the
/// ring buffer, reads the module images the processes load, reads the launch counters every
/// <see cref="ReadInterval"/> and publishes an immutable <see cref="Snapshot"/>. Callers on other
/// threads only enqueue requests (<see cref="Watch"/>) and read snapshots.
/// </summary>
public sealed class KernelLedgerService : IKernelLedgerView, IDisposable
{
    private readonly CudaLedgerProbe _probe;
    private readonly ProcFileSystem _proc;
    private readonly ModuleImageReader _images;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly KernelLedger _ledger = new();
    private readonly ConcurrentQueue<int> _watchRequests = new();
    private readonly ConcurrentQueue<TaskCompletionSource> _refreshRequests = new();
    private readonly Dictionary<string, AttachedFile> _files = [];
    private readonly Dictionary<int, WatchedProcess> _watched = [];
    private readonly Dictionary<int, DateTimeOffset> _goneSince = [];
    private readonly HashSet<string> _failedFiles = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private KernelLedgerSnapshot _snapshot = KernelLedgerSnapshot.Empty;
    private DateTimeOffset _lastRead;
    private DateTimeOffset _lastScanAll;

    private KernelLedgerService(CudaLedgerProbe probe, string procRoot, TimeProvider time, Action<string> log)
    {
        _probe = probe;
        _proc = new ProcFileSystem(procRoot);
        _images = new ModuleImageReader(procRoot);
        _time = time;
        _log = log;
        _thread = new Thread(Run) { IsBackground = true, Name = "gpuaudit-kernel-ledger" };
    }

    /// <summary>How often the launch counters are read.</summary>
    public TimeSpan ReadInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long an exited process's counters stay in the snapshot before they are dropped.</summary>
    public TimeSpan KeepExitedFor { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Watch every process on the node (rescanned every few seconds), not only those passed to <see cref="Watch"/>.</summary>
    public bool WatchAllProcesses { get; init; }

    public string ProcRoot => _proc.Root;

    /// <summary>The latest snapshot (replaced whole, never mutated).</summary>
    public KernelLedgerSnapshot Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>Loads the probe and starts the thread; throws <see cref="KernelLedgerUnavailableException"/> when the ledger cannot run here.</summary>
    public static KernelLedgerService Start(string procRoot, TimeProvider time, Action<string> log, bool watchAllProcesses = false, TimeSpan? readInterval = null)
    {
        var probe = CudaLedgerProbe.Open(time);
        var service = new KernelLedgerService(probe, procRoot, time, log)
        {
            WatchAllProcesses = watchAllProcesses,
            ReadInterval = readInterval ?? TimeSpan.FromSeconds(1),
        };
        service._thread.Start();
        return service;
    }

    /// <summary>Asks for <paramref name="pid"/>'s libcuda files to carry the probes (cheap; repeated calls are fine).</summary>
    public void Watch(int pid) => _watchRequests.Enqueue(pid);

    /// <summary>
    /// Looks once at every process on the node: a libcuda file mapped by any of them (the host
    /// driver's, usually shared by every container) gets the probes before its GPU processes show
    /// up in NVML, so their first lookups are seen.
    /// </summary>
    public void WatchEveryProcessOnce()
    {
        foreach (var pid in _proc.Pids())
        {
            _watchRequests.Enqueue(pid);
        }
    }

    /// <summary>Processes the queued requests and reads the counters now; completes when the new snapshot is out.</summary>
    public Task RefreshAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _refreshRequests.Enqueue(done);
        return done.Task;
    }

    public void Dispose()
    {
        _stop.Cancel();
        if (_thread.IsAlive)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        foreach (var file in _files.Values)
        {
            CudaLedgerProbe.Detach(file.Attachment);
        }

        _probe.Dispose();
        _stop.Dispose();
    }

    private void Run()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                Step();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or KernelLedgerUnavailableException)
            {
                _log("kernel ledger: " + e.Message);
            }
        }

        while (_refreshRequests.TryDequeue(out var pending))
        {
            pending.TrySetCanceled();
        }
    }

    private void Step()
    {
        var refreshes = new List<TaskCompletionSource>();
        while (_refreshRequests.TryDequeue(out var request))
        {
            refreshes.Add(request);
        }

        var now = _time.GetUtcNow();
        if (WatchAllProcesses && now - _lastScanAll >= TimeSpan.FromSeconds(2))
        {
            _lastScanAll = now;
            foreach (var pid in _proc.Pids())
            {
                _watchRequests.Enqueue(pid);
            }
        }

        while (_watchRequests.TryDequeue(out var pid))
        {
            CheckProcess(pid, now);
        }

        foreach (var e in _probe.Poll(refreshes.Count > 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(100)))
        {
            _ledger.Apply(e);
            if (e.Image != 0 && _images.Read(e.Pid, e.Image) is { } code)
            {
                _ledger.ApplyModuleCode(e.Pid, e.Handle, code);
            }
        }

        if (refreshes.Count > 0 || now - _lastRead >= ReadInterval)
        {
            _lastRead = now;
            Publish(now);
        }

        foreach (var done in refreshes)
        {
            done.TrySetResult();
        }
    }

    /// <summary>Attaches to the process's libcuda files not yet covered. Re-reads a process's maps at most every few seconds until it maps libcuda.</summary>
    private void CheckProcess(int pid, DateTimeOffset now)
    {
        if (_watched.TryGetValue(pid, out var watched) && now - watched.CheckedAt < (watched.Files.Count > 0 ? TimeSpan.FromSeconds(30) : TimeSpan.FromSeconds(1)))
        {
            return;
        }

        watched ??= _watched[pid] = new WatchedProcess();
        watched.CheckedAt = now;
        foreach (var file in LibcudaFile.Of(_proc, pid))
        {
            if (!_files.ContainsKey(file.Key) && !_failedFiles.Contains(file.Key))
            {
                AttachFile(file, now);
            }

            if (_files.ContainsKey(file.Key))
            {
                watched.Files.Add(file.Key);
            }
        }
    }

    private void AttachFile(LibcudaFile file, DateTimeOffset now)
    {
        KernelLedgerUnavailableException? last = null;
        foreach (var path in file.AttachPaths(_proc.Root))
        {
            try
            {
                var attachment = _probe.Attach(path);
                _files[file.Key] = new AttachedFile(file, attachment, now);
                var missing = attachment.Missing.Count == 0 ? string.Empty : "; this driver lacks " + string.Join(", ", attachment.Missing.Select(m => m.Symbol()));
                _log($"kernel ledger: probes on {file.PathInProcess} (dev {file.Device}, inode {file.Inode}, seen in pid {file.Pid}) through {path}{missing}");
                return;
            }
            catch (KernelLedgerUnavailableException e)
            {
                last = e;
            }
        }

        _failedFiles.Add(file.Key);
        _log($"kernel ledger: cannot attach to {file.PathInProcess} of pid {file.Pid}: {last?.MessageWithFix ?? "no path to open it"}");
    }

    private void Publish(DateTimeOffset now)
    {
        var counters = _probe.ReadCounters();
        var dropped = _probe.ReadEventsDropped();
        var processes = _ledger.Build(counters, dropped);
        ForgetExited(processes.Keys, now);

        var covered = new Dictionary<int, DateTimeOffset>();
        foreach (var (pid, watched) in _watched)
        {
            if (watched.Files.Count > 0)
            {
                covered[pid] = watched.Files.Max(f => _files[f].Since);
            }
        }

        var losses = _probe.ReadLosses();
        Volatile.Write(ref _snapshot, new KernelLedgerSnapshot
        {
            Time = now,
            Processes = processes,
            CoveredSince = covered,
            Libraries = [.. _files.Values.Select(f => $"{f.File.PathInProcess} ({f.File.Key})")],
            LaunchesLost = losses.LaunchesLost,
            EventsLost = losses.EventsLost + losses.EventsOverBudget + _ledger.Dropped,
        });
    }

    /// <summary>Processes gone for <see cref="KeepExitedFor"/> leave the maps, the ledger and the watch list.</summary>
    private void ForgetExited(IEnumerable<int> pidsWithData, DateTimeOffset now)
    {
        var forget = new HashSet<int>();
        foreach (var pid in pidsWithData.Concat(_watched.Keys).Distinct())
        {
            if (_proc.Exists(pid))
            {
                _goneSince.Remove(pid);
                continue;
            }

            if (!_goneSince.TryGetValue(pid, out var since))
            {
                _goneSince[pid] = now;
            }
            else if (now - since >= KeepExitedFor)
            {
                forget.Add(pid);
            }
        }

        if (forget.Count == 0)
        {
            return;
        }

        _probe.Forget(forget);
        foreach (var pid in forget)
        {
            _ledger.Forget(pid);
            _watched.Remove(pid);
            _goneSince.Remove(pid);
        }
    }

    private sealed record AttachedFile(LibcudaFile File, LibcudaAttachment Attachment, DateTimeOffset Since);

    private sealed class WatchedProcess
    {
        public DateTimeOffset CheckedAt { get; set; }

        public HashSet<string> Files { get; } = [];
    }
}
