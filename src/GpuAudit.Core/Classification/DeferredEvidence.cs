using GpuAudit.Core.Features;

namespace GpuAudit.Core.Classification;

/// <summary>
/// A signature verdict's evidence, written on first read from the inputs that produced it, after
/// an optional first line (how the verdict was reached: a residual term of the split). The line is
/// held here rather than in a <see cref="PrefixedEvidence"/> around it: most processes of a crowded
/// GPU are residual members, and this is one object per process per verdict instead of two.
/// </summary>
internal sealed class DeferredEvidence(WindowFeatures features, ProcessIdentity identity, ClassifierOptions options, string? first) : LazyEvidence
{
    protected override IReadOnlyList<string> Format()
    {
        var lines = SignatureRules.Explain(features, identity, options);
        if (first is null)
        {
            return lines;
        }

        var all = new List<string>(lines.Count + 1) { first };
        all.AddRange(lines);
        return all;
    }
}
