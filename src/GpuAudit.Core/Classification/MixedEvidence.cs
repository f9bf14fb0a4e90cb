using System.Collections;
using System.Globalization;

namespace GpuAudit.Core.Classification;

/// <summary>
/// The evidence of a mixed GPU verdict (each busy process's class, then the whole GPU's), formatted
/// on first read: a mixed GPU gets a verdict every second, and its lines are read only when a
/// violation or report needs them. The process verdicts are the ones of the same decision (not
/// changed after it); safe to read from any thread.
/// </summary>
internal sealed class MixedEvidence(IReadOnlyList<Verdict> processes, Decision gpu) : IReadOnlyList<string>
{
    private IReadOnlyList<string>? _lines;

    public int Count => Lines.Count;

    public string this[int index] => Lines[index];

    public IEnumerator<string> GetEnumerator() => Lines.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private IReadOnlyList<string> Lines
    {
        get
        {
            if (Volatile.Read(ref _lines) is { } lines)
            {
                return lines;
            }

            Interlocked.CompareExchange(ref _lines, Format(), null);
            return _lines!;
        }
    }

    private List<string> Format()
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
