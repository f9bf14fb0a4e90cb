using System.Globalization;

namespace GpuAudit.Core.Classification;

/// <summary>
/// The evidence of a mixed GPU verdict (each busy process's class, then the whole GPU's), formatted
/// on first read: a mixed GPU gets a verdict every second, and its lines are read only when a
/// violation or report needs them. The process verdicts are the ones of the same decision (not
/// changed after it); safe to read from any thread.
/// </summary>
internal sealed class MixedEvidence(IReadOnlyList<Verdict> processes, Decision gpu) : LazyEvidence
{
    protected override IReadOnlyList<string> Format()
    {
        var evidence = new List<string>(processes.Count + 1);
        foreach (var p in processes)
        {
            if (p.Class is not WorkloadClass.Idle)
            {
                evidence.Add($"pid {p.Pid}: {p.Class.Label()} ({p.Confidence.ToString("0.00", CultureInfo.InvariantCulture)})");
            }
        }

        evidence.Add("whole GPU: " + gpu.Class.Label() + "; " + gpu.Evidence[0]);
        return evidence;
    }
}
