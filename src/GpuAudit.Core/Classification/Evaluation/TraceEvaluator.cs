using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Samples;
using GpuAudit.Core.Trace;

namespace GpuAudit.Core.Classification.Evaluation;

/// <summary>
/// Compares the verdicts of a trace's run through the pipeline with the trace's truth fields, as
/// the verdicts come: the only code that reads truth. It reads the trace itself a second time,
/// in step with the verdicts (process lines first, for their truth; then samples up to each
/// verdict's time), so memory does not grow with the trace. Build it with <see cref="Open"/>, run
/// the trace with it as a sink, then call <see cref="Finish"/>.
/// </summary>
public sealed class TraceEvaluator : IAnalysisSink, IDisposable
{
    private readonly string _file;
    private readonly ClassifierOptions _options;
    private readonly TraceReader _samples;
    private readonly Dictionary<string, WorkloadClass> _truthOf;
    private readonly Dictionary<int, WorkloadClass> _processTruth;

    // The replay numbers a trace's GPUs by their place in the header.
    private readonly Dictionary<int, int> _replayIndex = [];
    private readonly Dictionary<int, (double Time, WorkloadClass? Truth)> _latestSample = [];
    private readonly HashSet<int> _started = [];
    private readonly SortedDictionary<int, Detection> _hashProcesses = [];
    private readonly Detection _gpuDetection = new();
    private readonly ConfusionMatrix _confusion = new();
    private readonly List<GpuVerdicts> _tickVerdicts = [];
    private bool _hashInSampleTruth;
    private int _falseHash;
    private bool _samplesDone;
    private GpuSample? _pending;

    private TraceEvaluator(string file, string path, ClassifierOptions options)
    {
        _file = file;
        _options = options;
        (_truthOf, _processTruth) = ReadProcessTruth(path);
        foreach (var (pid, truth) in _processTruth)
        {
            if (truth == WorkloadClass.Hash)
            {
                _hashProcesses[pid] = new Detection();
            }
        }

        _samples = TraceReader.Open(path);
        for (var i = 0; i < _samples.Header.Gpus.Count; i++)
        {
            _replayIndex[_samples.Header.Gpus[i].Index] = i;
        }
    }

    /// <summary>An evaluator of the trace at <paramref name="path"/>, reported as <paramref name="file"/>.</summary>
    public static TraceEvaluator Open(string file, string path, ClassifierOptions? options = null) =>
        new(file, path, options ?? ClassifierOptions.Default);

    public void OnTick(TickAnalysis analysis, TimeSpan pollDuration)
    {
        _tickVerdicts.Clear();
        foreach (var gpu in analysis.Gpus)
        {
            if (gpu.NewVerdicts is { } verdicts)
            {
                _tickVerdicts.Add(verdicts);
            }
        }

        // In time order, so each verdict's own sample is the latest read for its GPU.
        _tickVerdicts.Sort(static (a, b) => a.Gpu.Time.CompareTo(b.Gpu.Time));
        foreach (var verdicts in _tickVerdicts)
        {
            Judge(verdicts);
        }
    }

    /// <summary>The evaluation, once the run is over (reads the rest of the trace for late first-busy samples).</summary>
    public TraceEvaluation Finish()
    {
        ReadSamplesUntil(double.PositiveInfinity);
        var detections = new List<HashDetection>(_hashProcesses.Count);
        foreach (var (pid, d) in _hashProcesses)
        {
            detections.Add(new HashDetection(pid, d.FirstBusy, d.FirstHash));
        }

        if (detections.Count == 0 && _hashInSampleTruth)
        {
            detections.Add(new HashDetection(null, _gpuDetection.FirstBusy, _gpuDetection.FirstHash));
        }

        return new TraceEvaluation(_file, detections, _falseHash, _confusion);
    }

    public void Dispose() => _samples.Dispose();

    private void Judge(GpuVerdicts v)
    {
        ReadSamplesUntil(v.Gpu.Time);
        WorkloadClass? truth = _latestSample.TryGetValue(v.Gpu.Gpu, out var latest) && latest.Time == v.Gpu.Time ? latest.Truth : null;
        if (truth is { } known)
        {
            _confusion.Add(known, v.Gpu.Class);
        }

        if (v.Gpu.Class == WorkloadClass.Hash)
        {
            _gpuDetection.FirstHash ??= v.Gpu.Time;
            if (truth is not null and not WorkloadClass.Hash and not WorkloadClass.Mixed)
            {
                _falseHash++;
            }
        }

        foreach (var p in v.Processes)
        {
            if (p.Class != WorkloadClass.Hash)
            {
                continue;
            }

            if (_processTruth.TryGetValue(p.Pid!.Value, out var pt) && pt != WorkloadClass.Hash)
            {
                _falseHash++;
            }

            if (_hashProcesses.TryGetValue(p.Pid.Value, out var detection))
            {
                detection.FirstHash ??= v.Gpu.Time;
            }
        }
    }

    /// <summary>Reads every sample up to <paramref name="time"/>, keeping the first later one for next time.</summary>
    private void ReadSamplesUntil(double time)
    {
        while (true)
        {
            if (_pending is null)
            {
                if (_samplesDone || !TryReadSample(out _pending))
                {
                    _samplesDone = true;
                    return;
                }
            }

            if (_pending.Time > time)
            {
                return;
            }

            See(_pending);
            _pending = null;
        }
    }

    private bool TryReadSample([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out GpuSample? sample)
    {
        while (_samples.TryReadNext(out var entry))
        {
            if (entry.Sample is { } s)
            {
                sample = s;
                return true;
            }
        }

        sample = null;
        return false;
    }

    // First busy sample of each hash process (listed, its SM share ≥ 5% where reported, device busy)
    // and of the GPU (any busy sample); the truth of the latest sample of each GPU. A sample's own
    // truth is its truth_class; one that names only its workload is in that workload's phase, except
    // before the GPU's first busy sample with a process on it: interpreter start-up, which is idle.
    private void See(GpuSample s)
    {
        var gpu = _replayIndex.GetValueOrDefault(s.Gpu, s.Gpu);
        var deviceBusy = s.Gpm?[GpmMetric.SmUtil] is { } sm ? sm >= _options.BusySmUtilPct : s.UtilGpuPct >= _options.BusyUtilGpuPct;
        if (deviceBusy && s.Procs.Count > 0)
        {
            _started.Add(gpu);
        }

        var truth = s.Truth?.Class is null && !_started.Contains(gpu) && s.Truth?.Workload is not null ? WorkloadClass.Idle : ClassOf(s.Truth);
        _hashInSampleTruth |= truth == WorkloadClass.Hash;
        _latestSample[gpu] = (s.Time, truth);
        if (!deviceBusy)
        {
            return;
        }

        _gpuDetection.FirstBusy ??= s.Time;
        foreach (var p in s.Procs)
        {
            if ((p.SmPct ?? 100) >= 5 && _hashProcesses.TryGetValue(p.Pid, out var detection))
            {
                detection.FirstBusy ??= s.Time;
            }
        }
    }

    private WorkloadClass? ClassOf(Truth? truth)
    {
        if (truth?.Class is { } c && WorkloadClassNames.TryParse(c, out var parsed))
        {
            return parsed;
        }

        return truth?.Workload is { } w && _truthOf.TryGetValue(w, out var mapped) ? mapped : null;
    }

    /// <summary>Workload name → class (from the header and every process line) and each process's truth class.</summary>
    private static (Dictionary<string, WorkloadClass> TruthOf, Dictionary<int, WorkloadClass> Processes) ReadProcessTruth(string path)
    {
        var truthOf = new Dictionary<string, WorkloadClass>(StringComparer.Ordinal) { ["idle"] = WorkloadClass.Idle };
        var processes = new List<ProcessRecord>();
        TraceHeader header;
        using (var reader = TraceReader.Open(path))
        {
            header = reader.Header;
            while (reader.TryReadNext(out var entry))
            {
                if (entry.Process is { Truth: not null } p)
                {
                    processes.Add(p);
                }
            }
        }

        Learn(truthOf, header.Truth);
        foreach (var p in processes)
        {
            Learn(truthOf, p.Truth);
        }

        if (header is { Workload: { } workload, Truth.Class: { } headerClass } && WorkloadClassNames.TryParse(headerClass, out var hc))
        {
            truthOf.TryAdd(workload, hc);
        }

        var processTruth = new Dictionary<int, WorkloadClass>();
        foreach (var p in processes)
        {
            if (p.Truth?.Class is { } c && WorkloadClassNames.TryParse(c, out var parsed))
            {
                processTruth[p.Pid] = parsed;
            }
            else if (p.Truth?.Workload is { } w && truthOf.TryGetValue(w, out var mapped))
            {
                processTruth[p.Pid] = mapped;
            }
        }

        return (truthOf, processTruth);
    }

    private static void Learn(Dictionary<string, WorkloadClass> map, Truth? t)
    {
        if (t is { Workload: { } w, Class: { } c } && WorkloadClassNames.TryParse(c, out var wc))
        {
            map[w] = wc;
        }
    }

    private sealed class Detection
    {
        public double? FirstBusy { get; set; }

        public double? FirstHash { get; set; }
    }
}
