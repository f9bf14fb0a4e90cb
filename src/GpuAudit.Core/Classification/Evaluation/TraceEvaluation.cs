namespace GpuAudit.Core.Classification.Evaluation;

/// <summary>How the classifier did on one labelled trace (see <see cref="TraceEvaluator"/>).</summary>
public sealed record TraceEvaluation(
    string File,
    IReadOnlyList<HashDetection> HashDetections,
    int FalseHashVerdicts,
    ConfusionMatrix Confusion);

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
