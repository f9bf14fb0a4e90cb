using System.Collections;

namespace GpuAudit.Core.Classification;

/// <summary>
/// Evidence lines formatted on first read. Most verdicts of a 1 Hz stream are never read line by
/// line (only their class feeds metrics), so the hot path pays for one small object instead of a
/// dozen formatted strings. Safe to read from several threads: a race formats twice and keeps one.
/// </summary>
internal abstract class LazyEvidence : IReadOnlyList<string>
{
    private IReadOnlyList<string>? _lines;

    public int Count => Lines.Count;

    public string this[int index] => Lines[index];

    public IEnumerator<string> GetEnumerator() => Lines.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The lines, from inputs the subclass keeps unchanged.</summary>
    protected abstract IReadOnlyList<string> Format();

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
}
