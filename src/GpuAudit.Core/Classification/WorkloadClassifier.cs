using GpuAudit.Core.Features;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Classification;

/// <summary>
/// Classifies one GPU and each process on it over a sliding window of samples. One instance per
/// GPU. Feeding a sample costs a ring-buffer write and running-sum updates; the rules, the
/// per-process fit and the evidence strings run only when a verdict is due (once per
/// <see cref="ClassifierOptions.VerdictPeriodSeconds"/> of sample time). Never reads truth fields.
/// </summary>
public sealed class WorkloadClassifier
{
    // Identities of processes not seen in the window for this many windows are dropped.
    private const double IdentityRetentionWindows = 30;

    private readonly ClassifierOptions _options;
    private readonly GpuWindow _window;
    private readonly Dictionary<int, IdentityEntry> _identities = [];
    private double _nextVerdict = double.NegativeInfinity;
    private int _gpu;

    public WorkloadClassifier(ClassifierOptions? options = null)
    {
        _options = options ?? ClassifierOptions.Default;
        _window = new GpuWindow(_options.WindowSeconds, _options.MaxSamplesPerWindow, _options.BusySmUtilPct, _options.BusyUtilGpuPct, _options.AttributionRidge);
    }

    /// <summary>Records identity evidence for a process (GPU libraries, memory scan); any time, any order.</summary>
    public void ObserveProcess(ProcessRecord process)
    {
        var identity = ProcessIdentity.From(process);
        if (_identities.TryGetValue(process.Pid, out var known) && known.StartTicks is { } before && process.StartTicks is { } now && before != now)
        {
            // The pid was reused: the findings were the previous process's.
            known = null;
        }

        if (known is { Findings.Count: > 0 })
        {
            identity = identity.WithFindings(known.Findings);
        }

        _identities[process.Pid] = new IdentityEntry(identity, known?.Findings ?? [], LastTime()) { StartTicks = process.StartTicks };
    }

    /// <summary>Inspector findings for a process; hash constants in GPU code and miner kernels support a hash verdict.</summary>
    public void ObserveFindings(int pid, IReadOnlyList<ProcessFinding> findings)
    {
        var baseIdentity = _identities.TryGetValue(pid, out var known) ? known.Identity : ProcessIdentity.Unknown;
        _identities[pid] = new IdentityEntry(baseIdentity.WithFindings(findings), findings, LastTime()) { StartTicks = known?.StartTicks };
    }

    /// <summary>Feeds the next sample (time order); returns the verdicts when one is due, else null.</summary>
    public GpuVerdicts? Observe(GpuSample sample)
    {
        if (_window.Count > 0 && sample.Time < _window.LatestTime)
        {
            // Time went backwards (source restarted): the window no longer describes one stretch of time.
            _window.Clear();
            _nextVerdict = double.NegativeInfinity;
        }

        _gpu = sample.Gpu;
        _window.Add(sample);
        // A small tolerance keeps a 1 s poll with jitter from skipping verdicts.
        if (sample.Time < _nextVerdict - (0.05 * _options.VerdictPeriodSeconds))
        {
            return null;
        }

        _nextVerdict = sample.Time + _options.VerdictPeriodSeconds;
        return Decide(sample.Time);
    }

    private GpuVerdicts Decide(double time)
    {
        var device = _window.DeviceFeatures();
        Span<int> pids = stackalloc int[GpuWindow.MaxProcesses];
        var n = _window.ProcessPids(pids);
        _window.FitProcesses();

        var processes = new List<Verdict>(n);
        var deviceIdentity = ProcessIdentity.Unknown;
        for (var i = 0; i < n; i++)
        {
            var identity = IdentityOf(pids[i], time);
            if (identity.HasHashSigns && !deviceIdentity.HasHashSigns)
            {
                deviceIdentity = identity;
            }

            if (_window.ProcessFeatures(pids[i], device) is { } features)
            {
                var d = SignatureRules.Classify(features, identity, _options);
                processes.Add(new Verdict(time, _gpu, pids[i], d.Class, d.Confidence, d.Evidence));
            }
        }

        var gpu = SignatureRules.Classify(device, deviceIdentity, _options);
        AttributeUnexplainedHash(gpu, processes, time);
        PruneIdentities(time);
        return new GpuVerdicts(GpuVerdict(time, gpu, processes), processes);
    }

    /// <summary>
    /// The GPU as a whole looks hash-like but no process's own split does (their shares overlap too much
    /// to separate): hand the hash verdict to the processes whose identity points at it, saying so.
    /// </summary>
    private void AttributeUnexplainedHash(Decision gpu, List<Verdict> processes, double time)
    {
        if (gpu.Class != WorkloadClass.Hash || processes.Exists(p => p.Class == WorkloadClass.Hash))
        {
            return;
        }

        for (var i = 0; i < processes.Count; i++)
        {
            var p = processes[i];
            var identity = IdentityOf(p.Pid!.Value, time);
            if (p.Class != WorkloadClass.Idle && (identity.HasHashSigns || identity.RuntimeCompiledWithoutFramework))
            {
                var evidence = new List<string>(p.Evidence.Count + 1)
                {
                    "the GPU as a whole is hash-like (" + gpu.Evidence[0] + ") and this process's identity fits: "
                        + (identity.HasHashSigns ? string.Join("; ", identity.HashSigns) : "NVRTC-compiled GPU code, no ML framework"),
                };
                evidence.AddRange(p.Evidence);
                processes[i] = p with { Class = WorkloadClass.Hash, Confidence = Math.Min(gpu.Confidence, 0.6), Evidence = evidence };
            }
        }
    }

    private Verdict GpuVerdict(double time, Decision gpu, List<Verdict> processes)
    {
        WorkloadClass? first = null;
        var differ = false;
        var confidence = 1.0;
        foreach (var p in processes)
        {
            if (p.Class is WorkloadClass.Idle)
            {
                continue;
            }

            first ??= p.Class;
            differ |= p.Class != first;
            confidence = Math.Min(confidence, p.Confidence);
        }

        if (!differ)
        {
            return new Verdict(time, _gpu, null, gpu.Class, gpu.Confidence, gpu.Evidence);
        }

        var evidence = new List<string>(processes.Count + gpu.Evidence.Count);
        foreach (var p in processes)
        {
            if (p.Class is not WorkloadClass.Idle)
            {
                evidence.Add($"pid {p.Pid}: {p.Class.Label()} ({p.Confidence.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)})");
            }
        }

        evidence.Add("whole GPU: " + gpu.Class.Label() + "; " + gpu.Evidence[0]);
        return new Verdict(time, _gpu, null, WorkloadClass.Mixed, confidence, evidence);
    }

    private ProcessIdentity IdentityOf(int pid, double time)
    {
        if (!_identities.TryGetValue(pid, out var entry))
        {
            return ProcessIdentity.Unknown;
        }

        entry.LastSeen = time;
        return entry.Identity;
    }

    private void PruneIdentities(double time)
    {
        if (_identities.Count <= 4 * GpuWindow.MaxProcesses)
        {
            return;
        }

        var horizon = time - (IdentityRetentionWindows * _options.WindowSeconds);
        foreach (var (pid, entry) in _identities)
        {
            if (entry.LastSeen < horizon)
            {
                _identities.Remove(pid);
            }
        }
    }

    // Before any sample, a new identity must survive pruning until its process shows up.
    private double LastTime() => _window.Count > 0 ? _window.LatestTime : double.PositiveInfinity;

    private sealed class IdentityEntry(ProcessIdentity identity, IReadOnlyList<ProcessFinding> findings, double lastSeen)
    {
        public ProcessIdentity Identity { get; } = identity;

        public IReadOnlyList<ProcessFinding> Findings { get; } = findings;

        /// <summary>Start of the process the identity was taken from (tells a reused pid apart).</summary>
        public long? StartTicks { get; init; }

        public double LastSeen { get; set; } = lastSeen;
    }
}
