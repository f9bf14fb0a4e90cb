namespace GpuAudit.Cli.Hosting;

/// <summary>What every pipeline-running command (agent, replay, demo) shares.</summary>
internal sealed record SessionOptions
{
    public string? Listen { get; init; }

    public string? MetricsDump { get; init; }

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    public bool ShowSummary { get; init; }
}
