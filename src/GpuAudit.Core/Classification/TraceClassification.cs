using GpuAudit.Core.Samples;
using GpuAudit.Core.Trace;

namespace GpuAudit.Core.Classification;

/// <summary>Runs the classifier over a recorded trace the way the agent runs it live: one classifier per GPU, samples in order.</summary>
public static class TraceClassification
{
    public static IReadOnlyList<GpuVerdicts> Run(RecordedTrace trace, ClassifierOptions? options = null)
    {
        var classifiers = new Dictionary<int, WorkloadClassifier>();
        WorkloadClassifier For(int gpu)
        {
            if (!classifiers.TryGetValue(gpu, out var c))
            {
                c = new WorkloadClassifier(options);
                foreach (var p in trace.Processes)
                {
                    c.ObserveProcess(p);
                }

                classifiers[gpu] = c;
            }

            return c;
        }

        var verdicts = new List<GpuVerdicts>();
        foreach (GpuSample sample in trace.Samples)
        {
            if (For(sample.Gpu).Observe(sample) is { } v)
            {
                verdicts.Add(v);
            }
        }

        return verdicts;
    }
}
