using GpuAudit.Core.Classification;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Trace;

namespace GpuAudit.Core.Replay;

/// <summary>
/// One trace file through the agent's own path, as fast as it reads: <see cref="TraceReplaySource"/>
/// → <see cref="AuditPipeline"/> (classifier, attribution, the built-in policy) →
/// <see cref="AuditRunner"/> → the given sinks. What `classify`, `classify --eval` and the tests on
/// the recordings run, so they check exactly what `replay` and the agent do. Streams: memory does
/// not grow with the trace's length. The caller's clock times each tick's analysis; fast
/// replay never waits on it.
/// </summary>
public static class TracePipeline
{
    public static async Task RunAsync(string path, IReadOnlyList<IAnalysisSink> sinks, TimeProvider time, TraceReadOptions? readOptions = null, ClassifierOptions? classifierOptions = null, CancellationToken cancellationToken = default)
    {
        var replay = new ReplayOptions { Fast = true, SkipMalformed = readOptions?.SkipMalformed ?? false, Warn = readOptions?.Warn };
        using var source = new TraceReplaySource([path], replay, time);
        var pipeline = new AuditPipeline(source.Devices, new RecordedInsightProvider(), NoJobMap.Instance, new PolicyEngine(AuditPolicy.Default, source.Node), classifierOptions);
        await new AuditRunner(source, pipeline, sinks, time) { StopOnSinkFailure = true }.RunAsync(cancellationToken).ConfigureAwait(false);
    }
}
