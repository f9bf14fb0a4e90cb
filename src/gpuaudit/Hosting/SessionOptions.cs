using System.CommandLine;
using GpuAudit.Agent.Pipeline;
using GpuAudit.Linux;

namespace GpuAudit.Cli.Hosting;

/// <summary>What every pipeline-running command (agent, replay, demo) shares.</summary>
internal sealed record SessionOptions
{
    public string? Listen { get; init; }

    public string? MetricsDump { get; init; }

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    public bool ShowSummary { get; init; }

    /// <summary>The `--job-map DIR` option, with a default directory or none.</summary>
    public static Option<string?> JobMapOption(string? defaultDirectory) => new("--job-map")
    {
        Description = "Directory of the scheduler's GPU→job map: one file per GPU (index or UUID) holding \"<jobid> <uid>\", re-read every 5 s.",
        DefaultValueFactory = _ => defaultDirectory,
    };

    public static IGpuJobMap JobMap(string? directory) =>
        directory is null ? NoJobMap.Instance : new FileJobMap(new GpuJobMapReader(directory), TimeProvider.System, TimeSpan.FromSeconds(5));
}
