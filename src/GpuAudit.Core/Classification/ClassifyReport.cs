using System.Globalization;
using System.Text;
using GpuAudit.Core.Classification.Evaluation;

namespace GpuAudit.Core.Classification;

/// <summary>The readable text of <c>gpuaudit classify</c>: a per-file summary and the <c>--eval</c> report.</summary>
public static class ClassifyReport
{
    /// <summary>Per GPU and per process: how many windows got each class, and the strongest reason for the most serious one.</summary>
    public static string Summary(string file, IReadOnlyList<GpuVerdicts> verdicts)
    {
        var sb = new StringBuilder();
        sb.Append(Inv($"{file}: {verdicts.Count} verdicts\n"));
        var subjects = new SortedDictionary<(int Gpu, int Pid), List<Verdict>>();
        foreach (var v in verdicts)
        {
            Collect(subjects, v.Gpu);
            foreach (var p in v.Processes)
            {
                Collect(subjects, p);
            }
        }

        foreach (var ((gpu, pid), list) in subjects)
        {
            var name = pid < 0 ? Inv($"GPU {gpu}") : Inv($"  pid {pid}");
            var counts = new int[WorkloadClassNames.All.Count];
            foreach (var v in list)
            {
                counts[(int)v.Class]++;
            }

            var parts = new List<string>();
            for (var c = 0; c < counts.Length; c++)
            {
                if (counts[c] > 0)
                {
                    parts.Add(Inv($"{((WorkloadClass)c).Label()} {counts[c]}"));
                }
            }

            sb.Append(Inv($"  {name}: {string.Join(", ", parts)}\n"));
            var worst = Serious(list);
            if (worst is not null)
            {
                sb.Append(Inv($"      {worst.Class.Label()} {worst.Confidence:0.00} at t={worst.Time:0.###}: {string.Join(" | ", worst.Evidence)}\n"));
            }
        }

        return sb.ToString();
    }

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

    private static void Collect(SortedDictionary<(int Gpu, int Pid), List<Verdict>> subjects, Verdict v)
    {
        var key = (v.Gpu, v.Pid ?? -1);
        if (!subjects.TryGetValue(key, out var list))
        {
            subjects[key] = list = [];
        }

        list.Add(v);
    }

    // The verdict a reader most needs to see: the first hash, else the most confident non-idle one.
    private static Verdict? Serious(List<Verdict> list)
    {
        var hash = list.Find(v => v.Class == WorkloadClass.Hash);
        if (hash is not null)
        {
            return hash;
        }

        Verdict? best = null;
        foreach (var v in list)
        {
            if (v.Class != WorkloadClass.Idle && (best is null || v.Confidence > best.Confidence))
            {
                best = v;
            }
        }

        return best;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
