namespace GpuAudit.Core.Trace;

/// <summary>How a <see cref="TraceReader"/> treats bad lines.</summary>
public sealed record TraceReadOptions
{
    public static TraceReadOptions Strict { get; } = new();

    /// <summary>
    /// Skip malformed lines, reporting each through <see cref="Warn"/>, instead of failing.
    /// The header must still be valid: without it no line can be understood.
    /// </summary>
    public bool SkipMalformed { get; init; }

    /// <summary>Receives one <c>FILE:LINE: problem</c> message per skipped line.</summary>
    public Action<string>? Warn { get; init; }
}
