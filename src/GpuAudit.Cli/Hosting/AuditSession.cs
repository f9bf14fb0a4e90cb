using GpuAudit.Agent.Configuration;
using GpuAudit.Agent.Exporters;
using GpuAudit.Agent.Exporters.Http;
using GpuAudit.Agent.Journal;
using GpuAudit.Agent.Violations;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Policy;
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
    private readonly GpuAuditMetrics _metrics;
    private readonly ExpositionCache? _exposition;
    private readonly WebConfig? _webConfig;
    private readonly AuditRunner _runner;
    private readonly ConsoleSummary? _summary;
    private readonly OpenTelemetryExporter? _otlp = OpenTelemetryExporter.FromEnvironment();
    private readonly MinuteSummarySink _summaries;
    private readonly KernelJournalSink? _kernels;
    private readonly bool _temporaryJournal;
    private readonly TimeProvider _time;
    private MetricsEndpoint? _endpoint;

    public AuditSession(ISampleSource source, SessionOptions options, IProcessInsightProvider insights, IGpuJobMap jobMap, TimeProvider time)
    {
        _source = source;
        _options = options;
        _time = time;
        // Read before anything starts: a bad file is one line and exit 2, not a half-started agent.
        _webConfig = options.WebConfigPath is { } web ? WebConfigFile.Load(web) : null;
        var metrics = _metrics = new GpuAuditMetrics(_registry);
        if (options.AnalysisInterval > TimeSpan.Zero)
        {
            // Published a batch at a time, a GPU's last success can be a whole batch old at a scrape.
            metrics.AnalysisInterval.Set(options.AnalysisInterval.TotalSeconds);
        }

        var pipeline = new AuditPipeline(source.Devices, insights, jobMap, new PolicyEngine(PolicyFile.Load(options.PolicyPath), source.Node));
        JournalDirectory = options.JournalDirectory ?? Path.Combine(Path.GetTempPath(), $"gpuaudit-journal-{Environment.ProcessId}");
        _temporaryJournal = options.JournalDirectory is null;
        Journal = AuditJournal.Open(JournalDirectory, new JournalOptions { Node = source.Node, Metrics = new JournalMetrics(_registry), Warn = Warn, Time = time });
        _summaries = new MinuteSummarySink(Journal, source.Node, options.JournalRetention);

        // The runner calls the journal sink before the others and skips them when it fails:
        // a violation is in the journal before any exporter shows it.
        var sinks = new List<IAnalysisSink> { new ViolationJournalSink(Journal, source.Node), _summaries };
        var ledger = options.KernelLedger is not null || options.KernelLedgerOff is not null;
        if (ledger)
        {
            _kernels = new KernelJournalSink(Journal, source.Node);
            sinks.Add(_kernels);
        }

        // Only when /metrics is served (a --fast replay to a dump renders nothing): the sinks
        // that publish to the registry, and only they (no disk, no console), are bracketed, so
        // a scrape renders whole ticks and is held back by as little of the tick as can be.
        if (options.Listen is not null)
        {
            _exposition = new ExpositionCache(_registry, time);
            sinks.Add(ExpositionSink.Opening(_exposition));
        }

        sinks.Add(new ViolationMetrics(metrics));
        sinks.Add(new PrometheusExporter(metrics, source.Devices, options.PollInterval, time, options.Exporter));
        if (ledger)
        {
            sinks.Add(new KernelLedgerHealth(metrics, options.KernelLedger));
        }

        if (_exposition is not null)
        {
            sinks.Add(ExpositionSink.Closing(_exposition));
        }

        if (_otlp is not null)
        {
            sinks.Add(_otlp);
        }

        if (options.ShowSummary)
        {
            _summary = new ConsoleSummary(Console.Out, !Console.IsOutputRedirected);
            sinks.Add(_summary);
        }

        _runner = new AuditRunner(source, pipeline, sinks, time, Warn) { AnalysisInterval = options.AnalysisInterval };
    }

    public AuditRunner Runner => _runner;

    public AuditJournal Journal { get; }

    public string JournalDirectory { get; }

    /// <summary>Violations open after the last tick.</summary>
    public IReadOnlyList<Violation> ActiveViolations => _runner.Latest?.Policy.Active ?? [];

    public string? MetricsUrl => _endpoint?.Url;

    /// <summary>One warning line on stderr; redacted, since a failing sink's message can quote process text.</summary>
    public static void Warn(string message) => Console.Error.WriteLine("gpuaudit: warning: " + SecretRedactor.RedactText(message));

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (_options.Listen is { } listen && _exposition is not null)
        {
            _endpoint = await MetricsEndpoint.StartAsync(listen, _exposition, _webConfig, MetricsServerLimits.Default, reason => _metrics.HttpRejected.WithLabels(reason).Inc(), Warn, _time);
            await Console.Error.WriteLineAsync($"gpuaudit: serving metrics on {_endpoint.Url}");
        }

        await _runner.RunAsync(cancellationToken);
        if (_options.MetricsDump is { } dump)
        {
            await WriteMetricsAsync(dump, CancellationToken.None);
        }
    }

    /// <summary>Writes the minute summaries still open to the journal, so a report read now covers the whole run.</summary>
    public void FlushSummaries() => _summaries.Flush();

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
        // Writes the current minute's summaries, then flushes the last OTLP export.
        _summaries.Dispose();
        _kernels?.Dispose();
        _otlp?.Dispose();
        _endpoint?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Journal.Dispose();
        if (_temporaryJournal)
        {
            try
            {
                Directory.Delete(JournalDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A temporary journal left behind is harmless.
            }
        }

        _source.Dispose();
    }
}
