namespace GpuAudit.Agent.Exporters;

/// <summary>
/// Which per-process series the agent exports (<c>--process-metrics</c>): the cardinality knob.
/// Violations, GPU series and evidence counters are exported in every mode.
/// </summary>
public enum ProcessMetricsMode
{
    /// <summary>Identity, class, confidence, GPU memory and SM share: 5 series per GPU process.</summary>
    Full,

    /// <summary>Identity and class only: 2 series per GPU process.</summary>
    Minimal,

    /// <summary>No per-process series.</summary>
    Off,
}

/// <summary>The exporter's cardinality budget.</summary>
public sealed record PrometheusExporterOptions
{
    /// <summary>Default cap: a node of 8 GPUs with 6 processes each in full mode fits.</summary>
    public const int DefaultMaxProcessSeries = 256;

    public ProcessMetricsMode ProcessMetrics { get; init; } = ProcessMetricsMode.Full;

    /// <summary>Most per-process series exported at once; processes beyond it are withheld (and counted).</summary>
    public int MaxProcessSeries { get; init; } = DefaultMaxProcessSeries;

    public int SeriesPerProcess => ProcessMetrics switch
    {
        ProcessMetricsMode.Full => 5,
        ProcessMetricsMode.Minimal => 2,
        _ => 0,
    };

    public static ProcessMetricsMode ParseMode(string text) => text switch
    {
        "full" => ProcessMetricsMode.Full,
        "minimal" => ProcessMetricsMode.Minimal,
        "off" => ProcessMetricsMode.Off,
        _ => throw new Core.UserInputException($"'{text}' is not full, minimal or off; use minimal to export only each process's identity and class") { Input = Core.UserInput.ProcessMetrics },
    };
}
