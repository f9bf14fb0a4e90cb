using System.Runtime.InteropServices;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Pipeline;

/// <summary>
/// The per-tick analysis shared by `agent`, `replay`, `demo` and `classify`: samples → per-GPU
/// classifiers (fed each process's <see cref="ProcessInsight"/>) → job attribution → policy → one
/// immutable <see cref="TickAnalysis"/> that every sink reads. Single-threaded by design: one tick
/// at a time, on the poll loop. The per-tick path has no LINQ and no capturing lambdas: it runs
/// for every GPU and every process once a second for the agent's whole life.
/// </summary>
public sealed class AuditPipeline
{
    private readonly GpuState[] _gpus;
    private readonly Dictionary<int, GpuState> _byIndex = [];
    private readonly Dictionary<int, PidState> _pids = [];

    // Pids admitted (AuditRunner's batches) and not analysed yet, with the identity announced for them.
    private readonly Dictionary<int, ProcessRecord?> _young = [];
    private readonly IProcessInsightProvider _insights;
    private readonly IGpuJobMap _jobMap;
    private readonly PolicyEngine _policy;
    private readonly GpuDevice[] _devices;
    private long _tickNumber;

    public AuditPipeline(IReadOnlyList<GpuDevice> devices, IProcessInsightProvider insights, IGpuJobMap jobMap, PolicyEngine policy, ClassifierOptions? classifierOptions = null)
    {
        _insights = insights;
        _jobMap = jobMap;
        _policy = policy;
        _gpus = new GpuState[devices.Count];
        for (var i = 0; i < devices.Count; i++)
        {
            _gpus[i] = new GpuState(devices[i], new WorkloadClassifier(classifierOptions));
            _byIndex[devices[i].Index] = _gpus[i];
        }

        _devices = [.. devices];
    }

    public IReadOnlyList<GpuDevice> Devices => _devices;

    /// <summary>Ticks after which a process that left every GPU is forgotten (identity, insight).</summary>
    public int ForgetAfterTicks { get; init; } = 60;

    public TickAnalysis Process(Tick tick)
    {
        _tickNumber++;
        ApplyDeviceChanges(tick);
        foreach (var gpu in _gpus)
        {
            gpu.NewVerdicts = null;
        }

        var newProcesses = tick.NewProcesses;
        for (var i = 0; i < newProcesses.Count; i++)
        {
            StateOf(newProcesses[i].Pid).Identity = newProcesses[i];
            if (_young.Count > 0)
            {
                _young.Remove(newProcesses[i].Pid);
            }
        }

        var collectors = tick.Collectors;
        for (var i = 0; i < collectors.Count; i++)
        {
            if (_byIndex.TryGetValue(collectors[i].Gpu, out var gpu))
            {
                gpu.Collector = collectors[i];
                if (!collectors[i].Up)
                {
                    gpu.LastSample = null;
                }
            }
        }

        var samples = tick.Samples;
        for (var i = 0; i < samples.Count; i++)
        {
            if (_byIndex.TryGetValue(samples[i].Gpu, out var gpu))
            {
                Observe(gpu, samples[i]);
            }
        }

        ForgetGoneProcesses();
        var analysis = Snapshot(tick.Time);
        return analysis with { Policy = _policy.Evaluate(analysis) };
    }

    /// <summary>
    /// When ticks are analysed in batches (<see cref="AuditRunner.AnalysisInterval"/>): what cannot
    /// wait for the batch, done as <paramref name="tick"/> arrives. A pid not analysed yet has its
    /// insight asked for now, and on every tick until its first analysis: that starts its /proc
    /// inspection, memory scan and kernel-ledger watch at first sight, so a process that lives less
    /// than a batch is still inspected while it runs. A known process costs one comparison with the
    /// pid at its place the tick before. Changes nothing <see cref="Process"/> reads.
    /// </summary>
    public void Admit(Tick tick)
    {
        var announced = tick.NewProcesses;
        for (var i = 0; i < announced.Count; i++)
        {
            _young[announced[i].Pid] = announced[i];
        }

        var samples = tick.Samples;
        for (var s = 0; s < samples.Count; s++)
        {
            if (!_byIndex.TryGetValue(samples[s].Gpu, out var gpu) || gpu.Device.IsMigParent)
            {
                continue;
            }

            var procs = samples[s].ProcSpan;
            var admitted = gpu.AdmittedPids(procs.Length);
            for (var i = 0; i < procs.Length; i++)
            {
                var pid = procs[i].Pid;
                if (admitted[i] != pid)
                {
                    admitted[i] = pid;
                    if (!_pids.ContainsKey(pid))
                    {
                        _young.TryAdd(pid, null);
                    }
                }

                if (_young.Count > 0 && _young.TryGetValue(pid, out var identity))
                {
                    _insights.ObserveUsage(procs[i]);
                    _insights.GetInsight(pid, identity ?? _pids.GetValueOrDefault(pid)?.Identity);
                }
            }
        }
    }

    private void Observe(GpuState gpu, GpuSample sample)
    {
        gpu.LastSample = sample;
        if (gpu.Device.IsMigParent)
        {
            gpu.Resize(0);
            // Its work runs in its MIG instances, classified as devices of their own; its own
            // sample (power, clocks, no processes, no GPM) would only yield a misleading class.
            return;
        }

        var procs = sample.ProcSpan;
        gpu.Resize(procs.Length);
        for (var i = 0; i < procs.Length; i++)
        {
            var pid = procs[i].Pid;
            var state = gpu.States[i];
            if (state is null || !state.Live || state.Pid != pid)
            {
                // Not the process at this place last tick: found by pid (usually it is, and this is skipped).
                gpu.States[i] = state = StateOf(pid);
            }

            state.LastSeenTick = _tickNumber;
            if (_young.Count > 0)
            {
                _young.Remove(pid);
            }

            _insights.ObserveUsage(procs[i]);
            var insight = _insights.GetInsight(pid, state.Identity);
            gpu.Insights[i] = insight;
            if (insight is not null)
            {
                gpu.Classifier.ObserveProcess(insight);
            }
        }

        if (gpu.Classifier.Observe(sample) is { } verdicts)
        {
            gpu.Verdicts = verdicts;
            gpu.NewVerdicts = verdicts;
        }
    }

    /// <summary>A GPU unreadable at start-up that came back: same index, its real identity from now on.</summary>
    private void ApplyDeviceChanges(Tick tick)
    {
        if (tick.ChangedDevices is not { } changed)
        {
            return;
        }

        foreach (var device in changed)
        {
            if (!_byIndex.TryGetValue(device.Index, out var gpu))
            {
                continue;
            }

            gpu.Device = device;
            for (var slot = 0; slot < _devices.Length; slot++)
            {
                if (_devices[slot].Index == device.Index)
                {
                    _devices[slot] = device;
                }
            }
        }
    }

    private TickAnalysis Snapshot(double time)
    {
        var total = 0;
        foreach (var gpu in _gpus)
        {
            total += gpu.Collector.Up && gpu.LastSample is { } s ? s.Procs.Count : 0;
        }

        ProcessView[] processes = total == 0 ? [] : new ProcessView[total];
        var views = new GpuView[_gpus.Length];
        var next = 0;
        for (var g = 0; g < _gpus.Length; g++)
        {
            var gpu = _gpus[g];
            var device = gpu.Device;
            var sample = gpu.Collector.Up ? gpu.LastSample : null;
            var allocated = _jobMap.JobFor(device);
            var first = next;
            if (sample is not null)
            {
                var procs = sample.ProcSpan;
                var verdicts = VerdictSpan(gpu.Verdicts?.Processes);
                for (var i = 0; i < procs.Length; i++)
                {
                    var usage = procs[i];
                    var observed = i < gpu.Insights.Length;
                    var insight = observed ? gpu.Insights[i] : null;
                    processes[next++] = new ProcessView(
                        device.Index,
                        device.Uuid,
                        usage,
                        insight?.Identity ?? (observed ? gpu.States[i]!.Identity : _pids.GetValueOrDefault(usage.Pid)?.Identity),
                        insight,
                        gpu.Attribution(_jobMap.ProcessJob(insight?.Job), allocated),
                        observed ? gpu.FindVerdict(verdicts, i, usage.Pid) : FindVerdict(verdicts, usage.Pid));
                }
            }

            IReadOnlyList<ProcessView> slice = next == first ? Array.Empty<ProcessView>() : new ArraySegment<ProcessView>(processes, first, next - first);
            views[g] = new GpuView(device, sample, gpu.Collector, gpu.Verdicts?.Gpu, allocated, slice, gpu.NewVerdicts);
        }

        return new TickAnalysis(time, views, processes, PolicyResult.None);
    }

    /// <summary>The classifier's list as a span, read element by element without going through the interface.</summary>
    private static ReadOnlySpan<Verdict> VerdictSpan(IReadOnlyList<Verdict>? verdicts)
    {
        if (verdicts is List<Verdict> list)
        {
            return CollectionsMarshal.AsSpan(list);
        }

        Verdict[] copy = verdicts is null ? [] : [.. verdicts];
        return copy;
    }

    /// <summary>The process's verdict by a scan of the GPU's verdicts (the classifier lists them by SM time, not in the sample's order).</summary>
    private static Verdict? FindVerdict(ReadOnlySpan<Verdict> verdicts, int pid) => FindVerdictAt(verdicts, pid, 0) is var at and >= 0 ? verdicts[at] : null;

    private static int FindVerdictAt(ReadOnlySpan<Verdict> verdicts, int pid, int from)
    {
        for (var n = 0; n < verdicts.Length; n++)
        {
            var at = from + n < verdicts.Length ? from + n : from + n - verdicts.Length;
            if (verdicts[at].Pid == pid)
            {
                return at;
            }
        }

        return -1;
    }

    private void ForgetGoneProcesses()
    {
        if (_tickNumber % 16 != 0)
        {
            return;
        }

        // Removing while enumerating is allowed for Dictionary since .NET Core 3.0. A process
        // announced but never sampled on a GPU is kept: its identity waits for it.
        foreach (var (pid, state) in _pids)
        {
            if (state.LastSeenTick is { } last && _tickNumber - last > ForgetAfterTicks)
            {
                _pids.Remove(pid);
                state.Live = false;
                _insights.Forget(pid);
            }
        }
    }

    private PidState StateOf(int pid)
    {
        ref var state = ref CollectionsMarshal.GetValueRefOrAddDefault(_pids, pid, out _);
        return state ??= new PidState(pid);
    }

    /// <summary>One pid the pipeline knows: its announced identity, and the tick it was last sampled at (null: not yet).</summary>
    private sealed class PidState(int pid)
    {
        public int Pid { get; } = pid;

        public ProcessRecord? Identity { get; set; }

        public long? LastSeenTick { get; set; }

        /// <summary>False once forgotten, so a GPU's stale hint is not taken for the pid's new state.</summary>
        public bool Live { get; set; } = true;
    }

    private sealed class GpuState(GpuDevice device, WorkloadClassifier classifier)
    {
        public GpuDevice Device { get; set; } = device;

        public WorkloadClassifier Classifier { get; } = classifier;

        public CollectorStatus Collector { get; set; } = new(device.Index, true);

        public GpuSample? LastSample { get; set; }

        /// <summary>The insight of each process of <see cref="LastSample"/>, in its order.</summary>
        public ProcessInsight?[] Insights { get; private set; } = [];

        /// <summary>
        /// The pid state (announced identity) of each process of <see cref="LastSample"/>, in its
        /// order: read by the snapshot without a lookup, and next tick's first guess for the
        /// process at that place.
        /// </summary>
        public PidState?[] States { get; private set; } = [];

        // Where each process of the sample found its verdict last time: the classifier's order (by SM
        // time) changes little from one verdict to the next, so the search starts there and almost
        // always ends at once, instead of scanning the GPU's verdicts for every process (quadratic
        // in the processes per GPU: 512 x 512 comparisons per GPU per tick at 8 x 512).
        private int[] _verdictHints = [];

        // The pids of the last tick admitted (AuditPipeline.Admit), in the sample's order.
        private int[] _admitted = [];

        public int[] AdmittedPids(int processes)
        {
            if (_admitted.Length != processes)
            {
                _admitted = new int[processes];
            }

            return _admitted;
        }

        public void Resize(int processes)
        {
            if (Insights.Length != processes)
            {
                Insights = new ProcessInsight?[processes];
                States = new PidState?[processes];
                _verdictHints = new int[processes];
            }
        }

        public Verdict? FindVerdict(ReadOnlySpan<Verdict> verdicts, int process, int pid)
        {
            var at = FindVerdictAt(verdicts, pid, _verdictHints[process] < verdicts.Length ? _verdictHints[process] : 0);
            if (at < 0)
            {
                return null;
            }

            _verdictHints[process] = at;
            return verdicts[at];
        }

        public GpuVerdicts? Verdicts { get; set; }

        public GpuVerdicts? NewVerdicts { get; set; }

        private JobAttribution? _lastAttribution;
        private JobRef? _lastClaim;
        private JobRef? _lastAllocated;

        /// <summary>
        /// <see cref="JobAttribution.Resolve"/>, reusing the last result while the claim and the
        /// allocation are the same objects: the processes of one GPU almost always share both, and
        /// a new record per process per tick was a large part of what the tick allocated.
        /// </summary>
        public JobAttribution Attribution(JobRef? processJob, JobRef? allocated)
        {
            if (_lastAttribution is { } last && ReferenceEquals(_lastClaim, processJob) && ReferenceEquals(_lastAllocated, allocated))
            {
                return last;
            }

            _lastClaim = processJob;
            _lastAllocated = allocated;
            return _lastAttribution = JobAttribution.Resolve(processJob, allocated);
        }
    }
}
