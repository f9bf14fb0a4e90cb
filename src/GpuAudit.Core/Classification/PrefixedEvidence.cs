using System.Collections;

namespace GpuAudit.Core.Classification;

/// <summary>
/// Evidence lines with one line put in front, without reading the rest: a verdict's evidence is
/// formatted only when someone reads it (<see cref="DeferredEvidence"/>), and a note about how the
/// verdict was reached (a low duty cycle) must not force that early.
/// </summary>
internal sealed class PrefixedEvidence(string first, IReadOnlyList<string> rest) : IReadOnlyList<string>
{
    public int Count => 1 + rest.Count;

    public string this[int index] => index == 0 ? first : rest[index - 1];

    public IEnumerator<string> GetEnumerator()
    {
        yield return first;
        foreach (var line in rest)
        {
            yield return line;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
