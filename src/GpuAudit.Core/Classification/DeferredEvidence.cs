using System.Collections;
using GpuAudit.Core.Features;

namespace GpuAudit.Core.Classification;

/// <summary>
/// A verdict's evidence, written on first read from the inputs that produced the verdict. Most
/// verdicts of a 1 Hz stream are never read line by line (only their class feeds metrics), so the
/// hot path pays for one small object instead of a dozen formatted strings. Safe to read from
/// several threads: a race formats twice and keeps one.
/// </summary>
internal sealed class DeferredEvidence(WindowFeatures features, ProcessIdentity identity, ClassifierOptions options) : IReadOnlyList<string>
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

            Interlocked.CompareExchange(ref _lines, SignatureRules.Explain(features, identity, options), null);
            return _lines!;
        }
    }
}
