using GpuAudit.Core.Samples;
using GpuAudit.Core.Trace;

namespace GpuAudit.Core.Classification.Evaluation;

/// <summary>How the classifier did on one labelled trace. The only code that reads truth fields.</summary>
public sealed record TraceEvaluation(
    string File,
    IReadOnlyList<HashDetection> HashDetections,
    int FalseHashVerdicts,
    ConfusionMatrix Confusion)
{
    /// <summary>Compares <paramref name="verdicts"/> (from <see cref="TraceClassification"/>) with the trace's truth fields.</summary>
    public static TraceEvaluation Evaluate(string file, RecordedTrace trace, IReadOnlyList<GpuVerdicts> verdicts, ClassifierOptions? options = null)
    {
        var o = options ?? ClassifierOptions.Default;
        var truthOf = TruthClasses(trace);
        var sampleTruth = new Dictionary<(int Gpu, double Time), WorkloadClass>();
        foreach (var s in trace.Samples)
        {
            if (ClassOf(s.Truth, truthOf) is { } c)
            {
                sampleTruth[(s.Gpu, s.Time)] = c;
            }
        }

        var processTruth = new Dictionary<int, WorkloadClass>();
        foreach (var p in trace.Processes)
        {
            if (ClassOf(p.Truth, truthOf) is { } c)
            {
                processTruth[p.Pid] = c;
            }
        }

        var confusion = new ConfusionMatrix();
        var falseHash = 0;
        foreach (var v in verdicts)
        {
            var truth = sampleTruth.TryGetValue((v.Gpu.Gpu, v.Gpu.Time), out var t) ? t : (WorkloadClass?)null;
            if (truth is { } known)
            {
                confusion.Add(known, v.Gpu.Class);
            }

            if (v.Gpu.Class == WorkloadClass.Hash && truth is not null and not WorkloadClass.Hash and not WorkloadClass.Mixed)
            {
                falseHash++;
            }

            foreach (var p in v.Processes)
            {
                if (p.Class == WorkloadClass.Hash && processTruth.TryGetValue(p.Pid!.Value, out var pt) && pt != WorkloadClass.Hash)
                {
                    falseHash++;
                }
            }
        }

        var detections = new List<HashDetection>();
        foreach (var (pid, c) in processTruth)
        {
            if (c == WorkloadClass.Hash)
            {
                detections.Add(Detect(pid, trace, verdicts, o));
            }
        }

        detections.Sort((a, b) => Nullable.Compare(a.Pid, b.Pid));
        if (detections.Count == 0 && sampleTruth.ContainsValue(WorkloadClass.Hash))
        {
            detections.Add(Detect(null, trace, verdicts, o));
        }

        return new TraceEvaluation(file, detections, falseHash, confusion);
    }

    // First busy sample of the process (listed, its SM share ≥ 5% where reported, device busy) or of the
    // GPU (pid null), then the first hash verdict about it.
    private static HashDetection Detect(int? pid, RecordedTrace trace, IReadOnlyList<GpuVerdicts> verdicts, ClassifierOptions o)
    {
        double? firstBusy = null;
        foreach (var s in trace.Samples)
        {
            var deviceBusy = s.Gpm?[GpmMetric.SmUtil] is { } sm ? sm >= o.BusySmUtilPct : s.UtilGpuPct >= o.BusyUtilGpuPct;
            var listed = pid is null || s.Procs.Any(p => p.Pid == pid && (p.SmPct ?? 100) >= 5);
            if (deviceBusy && listed)
            {
                firstBusy = s.Time;
                break;
            }
        }

        double? firstHash = null;
        foreach (var v in verdicts)
        {
            var hit = pid is null
                ? v.Gpu.Class == WorkloadClass.Hash
                : v.Processes.Any(p => p.Pid == pid && p.Class == WorkloadClass.Hash);
            if (hit)
            {
                firstHash = v.Gpu.Time;
                break;
            }
        }

        return new HashDetection(pid, firstBusy, firstHash);
    }

    private static Dictionary<string, WorkloadClass> TruthClasses(RecordedTrace trace)
    {
        var map = new Dictionary<string, WorkloadClass>(StringComparer.Ordinal) { ["idle"] = WorkloadClass.Idle };
        void Learn(Truth? t)
        {
            if (t is { Workload: { } w, Class: { } c } && WorkloadClassNames.TryParse(c, out var wc))
            {
                map[w] = wc;
            }
        }

        Learn(trace.Header.Truth);
        foreach (var p in trace.Processes)
        {
            Learn(p.Truth);
        }

        if (trace.Header is { Workload: { } workload, Truth.Class: { } headerClass } && WorkloadClassNames.TryParse(headerClass, out var hc))
        {
            map.TryAdd(workload, hc);
        }

        return map;
    }

    private static WorkloadClass? ClassOf(Truth? truth, Dictionary<string, WorkloadClass> byWorkload)
    {
        if (truth?.Class is { } c && WorkloadClassNames.TryParse(c, out var parsed))
        {
            return parsed;
        }

        return truth?.Workload is { } w && byWorkload.TryGetValue(w, out var mapped) ? mapped : null;
    }
}

/// <summary>Whether and how fast the hash work of one process (or of the GPU, <see cref="Pid"/> null) was detected.</summary>
public sealed record HashDetection(int? Pid, double? FirstBusyTime, double? FirstHashVerdictTime)
{
    public bool Detected => FirstHashVerdictTime.HasValue;

    /// <summary>Seconds from the first busy sample to the first hash verdict (null when not detected).</summary>
    public double? LatencySeconds => FirstHashVerdictTime - FirstBusyTime;
}

/// <summary>Counts of (truth, predicted) GPU-level windows.</summary>
public sealed class ConfusionMatrix
{
    private readonly int[,] _counts = new int[WorkloadClassNames.All.Count, WorkloadClassNames.All.Count];

    public void Add(WorkloadClass truth, WorkloadClass predicted) => _counts[(int)truth, (int)predicted]++;

    public void Add(ConfusionMatrix other)
    {
        for (var i = 0; i < WorkloadClassNames.All.Count; i++)
        {
            for (var j = 0; j < WorkloadClassNames.All.Count; j++)
            {
                _counts[i, j] += other._counts[i, j];
            }
        }
    }

    public int this[WorkloadClass truth, WorkloadClass predicted] => _counts[(int)truth, (int)predicted];

    public int Total
    {
        get
        {
            var n = 0;
            foreach (var c in _counts)
            {
                n += c;
            }

            return n;
        }
    }
}
