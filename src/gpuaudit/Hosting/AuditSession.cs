using GpuAudit.Agent.Exporters;
using GpuAudit.Agent.Pipeline;
using GpuAudit.Core.Samples;
using Prometheus;

namespace GpuAudit.Cli.Hosting;

/// <summary>
/// Wires a sample source to the pipeline and its sinks (exporter, console summary) and runs it:
/// the one composition root for `agent`, `replay` and `demo`, so the three can never drift apart.
/// </summary>
internal sealed class AuditSession : IDisposable
{
    private readonly ISampleSource _source;
    private readonly SessionOptions _options;
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly AuditRunner _runner;
    private readonly ConsoleSummary? _summary;
    private readonly OpenTelemetryExporter? _otlp = OpenTelemetryExporter.FromEnvironment();
    private MetricsEndpoint? _endpoint;

    public AuditSession(ISampleSource source, SessionOptions options, IProcessInsightProvider insights, IGpuJobMap jobMap, TimeProvider time)
    {
        _source = source;
        _options = options;
        var metrics = new GpuAuditMetrics(_registry);
        var pipeline = new AuditPipeline(source.Devices, insights, jobMap);
        var sinks = new List<IAnalysisSink> { new PrometheusExporter(metrics, source.Devices, options.PollInterval, time) };
        if (_otlp is not null)
        {
            sinks.Add(_otlp);
        }

        if (options.ShowSummary)
        {
            _summary = new ConsoleSummary(Console.Out, !Console.IsOutputRedirected);
            sinks.Add(_summary);
        }

        _runner = new AuditRunner(source, pipeline, sinks, Warn);
    }

    public AuditRunner Runner => _runner;

    public string? MetricsUrl => _endpoint?.Url;

    public static void Warn(string message) => Console.Error.WriteLine("gpuaudit: warning: " + message);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (_options.Listen is { } listen)
        {
            _endpoint = MetricsEndpoint.Start(listen, _registry);
            await Console.Error.WriteLineAsync($"gpuaudit: serving metrics on {_endpoint.Url}");
        }

        await _runner.RunAsync(cancellationToken);
        if (_options.MetricsDump is { } dump)
        {
            await WriteMetricsAsync(dump, CancellationToken.None);
        }
    }

    public async Task WriteMetricsAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            await using var file = File.Create(path);
            await _registry.CollectAndExportAsTextAsync(file, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Core.UserInputException($"cannot write --metrics-dump file {path}: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        // Flushes the last OTLP export before the process ends.
        _otlp?.Dispose();
        _endpoint?.Dispose();
        _source.Dispose();
    }
}
