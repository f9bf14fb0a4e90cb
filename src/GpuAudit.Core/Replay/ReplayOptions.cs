namespace GpuAudit.Core.Replay;

/// <summary>How a <see cref="TraceReplaySource"/> plays its traces.</summary>
public sealed record ReplayOptions
{
    /// <summary>As fast as possible instead of at recorded speed.</summary>
    public bool Fast { get; init; }

    /// <summary>Stop after this many seconds of trace time (from the first sample).</summary>
    public double? UntilSeconds { get; init; }

    /// <summary>Start over at the end, with times (and energy counters) continuing forward.</summary>
    public bool Loop { get; init; }

    /// <summary>
    /// Place the first sample at this time (Unix seconds) instead of the trace's own clock: the demo
    /// passes the wall clock at its start, so its journal and /metrics agree with the Prometheus
    /// that scrapes it. Null (replay): the trace's times, so a replay's journal is the recording's.
    /// </summary>
    public double? StartAt { get; init; }

    /// <summary>Skip malformed lines with a warning instead of failing.</summary>
    public bool SkipMalformed { get; init; }

    /// <summary>Receives warnings (skipped lines, remapped pids and uuids).</summary>
    public Action<string>? Warn { get; init; }
}
