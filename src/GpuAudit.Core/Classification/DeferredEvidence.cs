using GpuAudit.Core.Features;

namespace GpuAudit.Core.Classification;

/// <summary>A signature verdict's evidence, written on first read from the inputs that produced it.</summary>
internal sealed class DeferredEvidence(WindowFeatures features, ProcessIdentity identity, ClassifierOptions options) : LazyEvidence
{
    protected override IReadOnlyList<string> Format() => SignatureRules.Explain(features, identity, options);
}
