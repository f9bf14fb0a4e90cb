using System.CommandLine;
using GpuAudit.Agent.Exporters;
using GpuAudit.Agent.Pipeline;
using GpuAudit.Agent.Journal;
using GpuAudit.Core.Kernels;
using GpuAudit.Core.Pipeline;
using GpuAudit.Linux;

namespace GpuAudit.Cli.Hosting;

/// <summary>What every pipeline-running command (agent, replay, demo) shares.</summary>
internal sealed record SessionOptions
{
    public string? Listen { get; init; }

    public string? MetricsDump { get; init; }

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    public bool ShowSummary { get; init; }

    /// <summary>Sample time analysed together in one batch (zero: each poll as it comes); see <see cref="AuditRunner.AnalysisInterval"/>.</summary>
    public TimeSpan AnalysisInterval { get; init; }

    /// <summary>Policy file (null: the defaults, with GPUAUDIT_POLICY_* overrides).</summary>
    public string? PolicyPath { get; init; }

    /// <summary>Journal directory (null: a temporary journal that lasts as long as the command).</summary>
    public string? JournalDirectory { get; init; }

    public TimeSpan JournalRetention { get; init; } = MinuteSummarySink.DefaultRetention;

    /// <summary>
    /// Live agent only: the kernel ledger (null when it is off; then <see cref="KernelLedgerOff"/> says why).
    /// Replay and demo leave both null and export no ledger series.
    /// </summary>
    public IKernelLedgerView? KernelLedger { get; init; }

    public string? KernelLedgerOff { get; init; }

    /// <summary>The exporter's cardinality budget (--process-metrics, --max-process-series).</summary>
    public PrometheusExporterOptions Exporter { get; init; } = new();

    /// <summary>--web-config: TLS, basic auth, headers and rate limit of /metrics (null: plain HTTP, open).</summary>
    public string? WebConfigPath { get; init; }

    public static Option<string?> PolicyOption() => new("--policy") { Description = "Policy file (JSON with comments; docs/policy.md). Default: the built-in rules." };

    public static Option<string?> JournalOption(string? defaultDirectory) => new("--journal")
    {
        Description = "Directory of the SQLite audit journal (violations, per-minute summaries)" + (defaultDirectory is null ? "; default: a temporary one." : "."),
        DefaultValueFactory = _ => defaultDirectory,
    };

    public static Option<double> RetentionOption() => new("--journal-retention-days") { Description = "Days of journal to keep.", DefaultValueFactory = _ => MinuteSummarySink.DefaultRetention.TotalDays };

    /// <summary>The `--job-map DIR` option, with a default directory or none.</summary>
    public static Option<string?> JobMapOption(string? defaultDirectory) => new("--job-map")
    {
        Description = "Directory of the scheduler's GPU→job map: one file per GPU (index or UUID) holding \"<jobid> <uid>\", re-read every 5 s.",
        DefaultValueFactory = _ => defaultDirectory,
    };

    /// <summary>The /metrics options every serving command shares: --web-config, --process-metrics, --max-process-series.</summary>
    public static MetricsOptions MetricsOptions() => new(
        new Option<string?>("--web-config") { Description = "Prometheus exporter-toolkit web configuration file: TLS, client certificates and bcrypt basic auth for /metrics (docs/metrics.md)." },
        new Option<string>("--process-metrics") { Description = "Per-process series: full (identity, class, confidence, memory, SM share), minimal (identity and class) or off.", DefaultValueFactory = _ => "full" },
        new Option<int>("--max-process-series") { Description = "Most per-process series exported at once; the rest are withheld and counted in gpuaudit_process_series_dropped_total.", DefaultValueFactory = _ => PrometheusExporterOptions.DefaultMaxProcessSeries });

    /// <summary>The agent's default: results within 10 s, under any Prometheus scrape interval, for about a third less CPU at 1 Hz.</summary>
    public const double AgentAnalysisIntervalSeconds = 10;

    public static Option<double> AnalysisIntervalOption(double defaultSeconds) => new("--analysis-interval")
    {
        Description = "Seconds of polls analysed together, in one batch, each with its own time: 0 analyses each poll as it comes; "
            + "10 costs about a third less CPU at 1 Hz, and results reach the journal and /metrics up to 10 s later (docs/performance.md).",
        DefaultValueFactory = _ => defaultSeconds,
    };

    public static TimeSpan AnalysisIntervalOf(double seconds) => seconds is >= 0 and <= 3600
        ? TimeSpan.FromSeconds(seconds)
        : throw new Core.UserInputException("--analysis-interval must be between 0 and 3600 seconds (0 analyses each poll as it comes)");

    public static TimeSpan Retention(double days) =>
        days > 0 ? TimeSpan.FromDays(days) : throw new Core.UserInputException("--journal-retention-days must be a positive number of days");

    public static IGpuJobMap JobMap(string? directory) =>
        directory is null ? NoJobMap.Instance : new FileJobMap(new GpuJobMapReader(directory, new PasswdFile()), TimeProvider.System, TimeSpan.FromSeconds(5));
}
