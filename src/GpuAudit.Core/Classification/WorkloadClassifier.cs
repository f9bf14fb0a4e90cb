using System.Globalization;
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

    // Pids named as candidates of unexplained hash-like work (the rest are left out of the list).
    private const int MaxCandidates = 16;

    private readonly ClassifierOptions _options;
    private readonly ClassifierOptions _burstOptions;
    private readonly GpuWindow _window;
    private readonly LowDutyWindow _lowDuty;
    private readonly Dictionary<int, IdentityEntry> _identities = [];
    private readonly List<int> _pids = [];
    private readonly HashSet<int> _hashPids = []; // pids whose verdict is hash, while counting hash-seconds
    private double _nextVerdict = double.NegativeInfinity;
    private double _lastVerdict = double.NegativeInfinity;
    private double _hashSeconds;
    private int _gpu;
    private string _residualNote = string.Empty;
    private int _residualNoteMembers = -1;

    public WorkloadClassifier(ClassifierOptions? options = null)
    {
        _options = options ?? ClassifierOptions.Default;
        _burstOptions = _options with { MinBusySamples = 1 };
        _window = new GpuWindow(_options.WindowSeconds, _options.MaxSamplesPerWindow, _options.BusySmUtilPct, _options.BusyUtilGpuPct, _options.AttributionRidge);
        _lowDuty = new LowDutyWindow(_options.LowDutyReadings, _options.LowDutyHorizonSeconds, _options.BusySmUtilPct);
    }

    /// <summary>
    /// What is known about a process (libraries, memory scan, inspector findings); any time, any
    /// order. Called every tick for every process: costs a lookup unless the insight changed.
    /// </summary>
    public void ObserveProcess(ProcessInsight insight)
    {
        if (_identities.TryGetValue(insight.Pid, out var known) && ReferenceEquals(known.Source, insight))
        {
            return;
        }

        _identities[insight.Pid] = new IdentityEntry(ProcessIdentity.From(insight), insight, LastTime());
    }

    /// <summary>Feeds the next sample (time order); returns the verdicts when one is due, else null.</summary>
    public GpuVerdicts? Observe(GpuSample sample)
    {
        if (_window.Count > 0 && sample.Time < _window.LatestTime)
        {
            // Time went backwards (source restarted): the window no longer describes one stretch of time.
            _window.Clear();
            _lowDuty.Clear();
            _nextVerdict = double.NegativeInfinity;
            _lastVerdict = double.NegativeInfinity;
        }

        _gpu = sample.Gpu;
        _window.Add(sample);
        _lowDuty.Add(sample);
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
        _window.FitProcesses();
        _window.ProcessPids(_pids);

        var residual = _window.ResidualPids();
        var residualNote = ResidualNote(residual.Count);
        var processes = new List<Verdict>(_pids.Count);
        var deviceIdentity = ProcessIdentity.Unknown;
        foreach (var pid in _pids)
        {
            var identity = IdentityOf(pid, time);
            if (identity.HasHashSigns && !deviceIdentity.HasHashSigns)
            {
                deviceIdentity = identity;
            }

            if (_window.TryProcessFeatures(pid, device, out var features, out var isResidual))
            {
                var d = SignatureRules.Classify(features, identity, _options, isResidual ? residualNote : null);
                processes.Add(new Verdict(time, _gpu, pid, d.Class, d.Confidence, d.Evidence) { Candidates = isResidual ? residual : [] });
            }
        }

        var gpu = SignatureRules.Classify(device, deviceIdentity, _options);
        if (device.BusyReadings < _options.MinBusySamples && LowDutyDecision(device, deviceIdentity) is { } lowDuty)
        {
            gpu = lowDuty;
        }

        AttributeUnexplainedHash(gpu, processes, time);
        PruneIdentities(time);
        var verdict = GpuVerdict(time, gpu, processes);
        _hashSeconds += HashSecondsSinceLastVerdict(verdict, processes);
        _lastVerdict = time;
        return new GpuVerdicts(verdict with { HashSecondsTotal = _hashSeconds }, processes);
    }

    /// <summary>The note on every residual process's evidence: formatted again only when the group's size changes (not per process per verdict).</summary>
    private string ResidualNote(int members)
    {
        if (members != _residualNoteMembers)
        {
            _residualNote = FormatResidualNote(members);
            _residualNoteMembers = members;
        }

        return _residualNote;
    }

    private static string FormatResidualNote(int members) => string.Create(CultureInfo.InvariantCulture,
        $"one of {members} processes with the least SM time, folded into one residual term of the split (the fit separates the {GpuWindow.MaxFitTerms - 1} busiest one by one): these numbers are the group's, not this process's own");

    /// <summary>
    /// Too few busy readings in the window for a verdict while the GPU idled in it (at least as many idle
    /// readings as a verdict needs busy ones), a busy reading came since the last verdict, and the
    /// low-duty window holds enough of them: judge the work by its own recent readings (bursts of a
    /// duty-cycled workload), so a miner that runs 2 s of every 10 s is seen for what it does. The burst
    /// that brings the verdict must show the same class on its own readings: pooled readings of work that
    /// stopped must not be pinned on whatever runs next.
    /// </summary>
    private Decision? LowDutyDecision(in WindowFeatures device, ProcessIdentity identity)
    {
        if (device.Readings - device.BusyReadings < _options.MinBusySamples
            || _lowDuty.Count < _options.MinBusySamples || !(_lowDuty.NewestTime > _lastVerdict))
        {
            return null;
        }

        var d = SignatureRules.Classify(_lowDuty.Features(), identity, _options);
        if (d.Class is WorkloadClass.Idle or WorkloadClass.Unknown
            || SignatureRules.Classify(_lowDuty.Features(after: _lastVerdict), identity, _burstOptions).Class != d.Class)
        {
            return null;
        }

        var span = _lowDuty.NewestTime - _lowDuty.OldestTime;
        var note = string.Create(CultureInfo.InvariantCulture,
            $"low duty cycle: too few busy readings in the {_options.WindowSeconds:0} s window, judged over the last {_lowDuty.Count} busy readings spread over {span:0} s");
        return new Decision(d.Class, Math.Min(d.Confidence, _options.LowDutyMaxConfidence), new PrefixedEvidence(note, d.Evidence));
    }

    /// <summary>
    /// GPU-seconds of hash-like work in the readings since the previous verdict: each busy reading's SM
    /// activity times its duration, for the whole GPU when its verdict is hash, else for the share of
    /// SM time held by processes whose verdict is hash. A monotonic total per GPU, so a reader counts
    /// each second once however often it looks.
    /// </summary>
    private double HashSecondsSinceLastVerdict(Verdict gpu, List<Verdict> processes)
    {
        var wholeGpu = gpu.Class == WorkloadClass.Hash || (gpu.Class == WorkloadClass.Mixed && gpu.Candidates.Count > 0);
        if (!wholeGpu && !processes.Exists(p => p.Class == WorkloadClass.Hash))
        {
            return 0;
        }

        var hashPids = _hashPids;
        hashPids.Clear();
        foreach (var p in processes)
        {
            if (p.Class == WorkloadClass.Hash)
            {
                hashPids.Add(p.Pid!.Value);
            }
        }

        var seconds = 0.0;
        for (var i = _window.Count - 1; i >= 0 && _window.TimeAt(i) > _lastVerdict; i--)
        {
            if (!_window.IsBusy(i))
            {
                continue;
            }

            var share = wholeGpu ? 1 : HashShare(_window.Procs(i), hashPids);
            seconds += share * Math.Clamp(_window.ActivityPctAt(i), 0, 100) / 100 * _window.SecondsAt(i);
        }

        return seconds;
    }

    private static double HashShare(ReadOnlySpan<ProcessShare> procs, HashSet<int> hashPids)
    {
        double hash = 0, total = 0;
        var hashCount = 0;
        foreach (var p in procs)
        {
            var isHash = hashPids.Contains(p.Pid);
            hashCount += isHash ? 1 : 0;
            if (!double.IsNaN(p.Share))
            {
                total += p.Share;
                hash += isHash ? p.Share : 0;
            }
        }

        return total > 0 ? hash / total : procs.Length > 0 ? (double)hashCount / procs.Length : 0;
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

        // Hash-like work on the GPU that no process's own verdict accounts for: name who may hold it.
        var unexplained = gpu.Class == WorkloadClass.Hash && !processes.Exists(p => p.Class == WorkloadClass.Hash)
            ? Candidates(processes)
            : [];
        if (!differ)
        {
            return new Verdict(time, _gpu, null, gpu.Class, gpu.Confidence, gpu.Evidence) { Candidates = unexplained };
        }

        return new Verdict(time, _gpu, null, WorkloadClass.Mixed, confidence, new MixedEvidence(processes, gpu)) { Candidates = unexplained };
    }

    /// <summary>
    /// The busy processes of the window, most SM time first; failing that every process of the window
    /// (NVML may give no per-process shares), then those of the low-duty window's bursts.
    /// </summary>
    private List<int> Candidates(List<Verdict> processes)
    {
        var candidates = new List<int>();
        foreach (var p in processes)
        {
            if (p.Class != WorkloadClass.Idle && candidates.Count < MaxCandidates)
            {
                candidates.Add(p.Pid!.Value);
            }
        }

        if (candidates.Count == 0)
        {
            candidates.AddRange(_pids.Take(MaxCandidates));
        }

        if (candidates.Count == 0)
        {
            _lowDuty.Pids(candidates);
            if (candidates.Count > MaxCandidates)
            {
                candidates.RemoveRange(MaxCandidates, candidates.Count - MaxCandidates);
            }
        }

        return candidates;
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
        if (_identities.Count <= 4 * GpuWindow.MaxFitTerms)
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

    private sealed class IdentityEntry(ProcessIdentity identity, ProcessInsight source, double lastSeen)
    {
        public ProcessIdentity Identity { get; } = identity;

        /// <summary>The insight <see cref="Identity"/> was derived from (to skip unchanged ones).</summary>
        public ProcessInsight Source { get; } = source;

        public double LastSeen { get; set; } = lastSeen;
    }
}
