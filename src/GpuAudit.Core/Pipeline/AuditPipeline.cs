using GpuAudit.Core.Classification;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Pipeline;

/// <summary>
/// The per-tick analysis shared by the agent, replay and demo: samples → per-GPU classifiers →
/// process identity and insight → one immutable <see cref="TickAnalysis"/> that every exporter,
/// the policy and the journal read. Single-threaded by design: one tick at a time, on the poll loop.
/// </summary>
public sealed class AuditPipeline
{
    private readonly Dictionary<int, GpuState> _gpus = [];
    private readonly Dictionary<int, ProcessRecord> _identities = [];
    private readonly Dictionary<int, long> _lastSeenTick = [];
    private readonly IProcessInsightProvider _insights;
    private readonly IGpuJobMap _jobMap;
    private readonly GpuDevice[] _devices;
    private long _tickNumber;

    public AuditPipeline(IReadOnlyList<GpuDevice> devices, IProcessInsightProvider insights, IGpuJobMap jobMap, ClassifierOptions? classifierOptions = null)
    {
        _insights = insights;
        _jobMap = jobMap;
        foreach (var device in devices)
        {
            _gpus[device.Index] = new GpuState(device, new WorkloadClassifier(classifierOptions));
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
        foreach (var record in tick.NewProcesses)
        {
            _identities[record.Pid] = record;
            foreach (var gpu in _gpus.Values)
            {
                gpu.Classifier.ObserveProcess(record);
            }
        }

        foreach (var status in tick.Collectors)
        {
            if (_gpus.TryGetValue(status.Gpu, out var gpu))
            {
                gpu.Collector = status;
                if (!status.Up)
                {
                    gpu.LastSample = null;
                }
            }
        }

        foreach (var sample in tick.Samples)
        {
            if (!_gpus.TryGetValue(sample.Gpu, out var gpu))
            {
                continue;
            }

            gpu.LastSample = sample;
            if (gpu.Device.IsMigParent)
            {
                // Its work runs in its MIG instances, classified as devices of their own; its own
                // sample (power, clocks, no processes, no GPM) would only yield a misleading class.
                continue;
            }

            foreach (var p in sample.Procs)
            {
                _lastSeenTick[p.Pid] = _tickNumber;
                if (_insights.GetInsight(p.Pid, _identities.GetValueOrDefault(p.Pid)) is { Findings.Count: > 0 } insight)
                {
                    gpu.Classifier.ObserveFindings(p.Pid, insight.Findings);
                }
            }

            if (gpu.Classifier.Observe(sample) is { } verdicts)
            {
                gpu.Verdicts = verdicts;
            }
        }

        ForgetGoneProcesses();
        return Snapshot(tick.Time);
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
            var slot = Array.FindIndex(_devices, d => d.Index == device.Index);
            if (slot >= 0 && _gpus.TryGetValue(device.Index, out var gpu))
            {
                _devices[slot] = device;
                gpu.Device = device;
            }
        }
    }

    private TickAnalysis Snapshot(double time)
    {
        var gpus = new List<GpuView>(_gpus.Count);
        var processes = new List<ProcessView>();
        foreach (var device in Devices)
        {
            var gpu = _gpus[device.Index];
            var sample = gpu.Collector.Up ? gpu.LastSample : null;
            gpus.Add(new GpuView(device, sample, gpu.Collector, gpu.Verdicts?.Gpu, _jobMap.JobFor(device)));
            if (sample is null)
            {
                continue;
            }

            var procs = sample.Procs;
            for (var i = 0; i < procs.Count; i++)
            {
                var usage = procs[i];
                var identity = _identities.GetValueOrDefault(usage.Pid);
                processes.Add(new ProcessView(
                    device.Index,
                    device.Uuid,
                    usage,
                    identity,
                    _insights.GetInsight(usage.Pid, identity),
                    gpu.Verdicts is { } verdicts ? FindVerdict(verdicts.Processes, usage.Pid, i) : null));
            }
        }

        return new TickAnalysis(time, gpus, processes);
    }

    /// <summary>
    /// The process's verdict. Hot path (every process of every GPU, every poll): a LINQ search with
    /// a capturing lambda allocated per process and made the snapshot O(processes²) per GPU; the
    /// classifier lists verdicts in the sample's process order, so the same index is tried first.
    /// </summary>
    private static Verdict? FindVerdict(IReadOnlyList<Verdict> verdicts, int pid, int hint)
    {
        if (hint < verdicts.Count && verdicts[hint].Pid == pid)
        {
            return verdicts[hint];
        }

        for (var i = 0; i < verdicts.Count; i++)
        {
            if (verdicts[i].Pid == pid)
            {
                return verdicts[i];
            }
        }

        return null;
    }

    private void ForgetGoneProcesses()
    {
        if (_tickNumber % 16 != 0)
        {
            return;
        }

        foreach (var (pid, last) in _lastSeenTick.ToList())
        {
            if (_tickNumber - last > ForgetAfterTicks)
            {
                _lastSeenTick.Remove(pid);
                _identities.Remove(pid);
                _insights.Forget(pid);
            }
        }
    }

    private sealed class GpuState(GpuDevice device, WorkloadClassifier classifier)
    {
        public GpuDevice Device { get; set; } = device;

        public WorkloadClassifier Classifier { get; } = classifier;

        public CollectorStatus Collector { get; set; } = new(device.Index, true);

        public GpuSample? LastSample { get; set; }

        public GpuVerdicts? Verdicts { get; set; }
    }
}
