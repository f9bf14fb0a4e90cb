using System.Globalization;
using System.Text;
using GpuAudit.Core.Classification.Evaluation;

namespace GpuAudit.Core.Classification;

/// <summary>The readable <c>--eval</c> report of <c>gpuaudit classify</c> (the per-file text is <see cref="VerdictSummary"/>).</summary>
public static class ClassifyReport
{
    public static string Evaluation(IReadOnlyList<TraceEvaluation> evaluations)
    {
        var sb = new StringBuilder();
        var all = new ConfusionMatrix();
        foreach (var e in evaluations)
        {
            all.Add(e.Confusion);
            sb.Append(e.File).Append(':');
            if (e.HashDetections.Count == 0)
            {
                sb.Append(" no hash work in truth;");
            }

            foreach (var d in e.HashDetections)
            {
                var who = d.Pid is { } pid ? Inv($"pid {pid}") : "GPU";
                sb.Append(d.Detected
                    ? Inv($" hash {who} detected after {d.LatencySeconds:0.0} s;")
                    : Inv($" hash {who} NOT detected;"));
            }

            sb.Append(Inv($" false hash verdicts: {e.FalseHashVerdicts}; windows: {e.Confusion.Total}\n"));
        }

        sb.Append(Inv($"\nconfusion matrix over {all.Total} GPU windows (rows: truth, columns: verdict)\n"));
        sb.Append("truth: each sample's truth_class; a sample naming only its workload is in that workload's phase, idle before the GPU's first busy reading with a process (start-up)\n");
        var classes = WorkloadClassNames.All;
        sb.Append(Inv($"{"",-10}"));
        foreach (var c in classes)
        {
            sb.Append(Inv($"{c.Label(),10}"));
        }

        sb.Append('\n');
        foreach (var truth in classes)
        {
            sb.Append(Inv($"{truth.Label(),-10}"));
            foreach (var predicted in classes)
            {
                sb.Append(Inv($"{all[truth, predicted],10}"));
            }

            sb.Append('\n');
        }

        return sb.ToString();
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
