using System.Globalization;
using System.Text;
using GpuAudit.Core.Pipeline;

namespace GpuAudit.Core.Classification;

/// <summary>
/// The readable per-file text of <c>gpuaudit classify</c>, tallied as verdicts are made (memory per
/// GPU and process, not per verdict): per GPU and per process, how many windows got each class,
/// and the strongest reason for the most serious one.
/// </summary>
public sealed class VerdictSummary : IAnalysisSink
{
    private readonly SortedDictionary<(int Gpu, int Pid), Subject> _subjects = [];
    private int _verdicts;

    public void OnTick(TickAnalysis analysis, TimeSpan pollDuration)
    {
        foreach (var gpu in analysis.Gpus)
        {
            if (gpu.NewVerdicts is { } verdicts)
            {
                Add(verdicts);
            }
        }
    }

    public void Add(GpuVerdicts verdicts)
    {
        _verdicts++;
        Tally(verdicts.Gpu);
        foreach (var p in verdicts.Processes)
        {
            Tally(p);
        }
    }

    public string Render(string file)
    {
        var sb = new StringBuilder();
        sb.Append(Inv($"{file}: {_verdicts} verdicts\n"));
        foreach (var ((gpu, pid), subject) in _subjects)
        {
            var name = pid < 0 ? Inv($"GPU {gpu}") : Inv($"  pid {pid}");
            var parts = new List<string>();
            for (var c = 0; c < subject.Counts.Length; c++)
            {
                if (subject.Counts[c] > 0)
                {
                    parts.Add(Inv($"{((WorkloadClass)c).Label()} {subject.Counts[c]}"));
                }
            }

            sb.Append(Inv($"  {name}: {string.Join(", ", parts)}\n"));
            if (subject.Serious is { } worst)
            {
                sb.Append(Inv($"      {worst.Class.Label()} {worst.Confidence:0.00} at t={worst.Time:0.###}: {string.Join(" | ", worst.Evidence)}\n"));
            }
        }

        return sb.ToString();
    }

    private void Tally(Verdict v)
    {
        var key = (v.Gpu, v.Pid ?? -1);
        if (!_subjects.TryGetValue(key, out var subject))
        {
            _subjects[key] = subject = new Subject();
        }

        subject.Counts[(int)v.Class]++;

        // The verdict a reader most needs to see: the first hash, else the most confident non-idle one.
        if (subject.Serious is { Class: WorkloadClass.Hash })
        {
            return;
        }

        if (v.Class == WorkloadClass.Hash
            || (v.Class != WorkloadClass.Idle && (subject.Serious is null || v.Confidence > subject.Serious.Confidence)))
        {
            subject.Serious = v;
        }
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private sealed class Subject
    {
        public int[] Counts { get; } = new int[WorkloadClassNames.All.Count];

        public Verdict? Serious { get; set; }
    }
}
