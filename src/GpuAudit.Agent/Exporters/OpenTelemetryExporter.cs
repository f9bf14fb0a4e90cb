using System.Diagnostics.Metrics;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Samples;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;

namespace GpuAudit.Agent.Exporters;

/// <summary>
/// Optional OTLP export of the same measurements as /metrics, and of violations as log records,
/// through the OpenTelemetry .NET SDK.
/// Off unless the standard variables ask for it (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or
/// <c>OTEL_EXPORTER_OTLP_METRICS_ENDPOINT</c>; <c>OTEL_SDK_DISABLED=true</c> wins); protocol,
/// headers and export interval come from the usual <c>OTEL_*</c> variables, which the SDK reads
/// itself. Instruments are observable: the SDK reads the latest analysis when it exports, so the
/// poll loop does no OpenTelemetry work at all.
/// </summary>
public sealed class OpenTelemetryExporter : IAnalysisSink, IDisposable
{
    public const string MeterName = "GpuAudit";

    private readonly Meter _meter = new(MeterName);
    private readonly MeterProvider _provider;
    private readonly ILoggerFactory _logs;
    private readonly ILogger _violations;
    private TickAnalysis? _latest;

    private OpenTelemetryExporter()
    {
        CreateInstruments();
        _provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(MeterName)
            .AddOtlpExporter()
            .Build();
        _logs = LoggerFactory.Create(builder => builder.AddOpenTelemetry(options =>
        {
            options.IncludeFormattedMessage = true;
            options.AddOtlpExporter();
        }));
        _violations = _logs.CreateLogger("GpuAudit.Violations");
    }

    /// <summary>True when the environment asks for OTLP export.</summary>
    public static bool IsRequested(Func<string, string?> env) =>
        !string.Equals(env("OTEL_SDK_DISABLED"), "true", StringComparison.OrdinalIgnoreCase)
        && (!string.IsNullOrWhiteSpace(env("OTEL_EXPORTER_OTLP_ENDPOINT")) || !string.IsNullOrWhiteSpace(env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")));

    /// <summary>The exporter when the environment asks for one, else null.</summary>
    public static OpenTelemetryExporter? FromEnvironment() =>
        IsRequested(Environment.GetEnvironmentVariable) ? new OpenTelemetryExporter() : null;

    /// <summary>
    /// Keeps the analysis for the next export, and logs the violations the tick opened or closed
    /// (the runner calls this only after the journal holds them).
    /// </summary>
    public void OnTick(TickAnalysis analysis, TimeSpan pollDuration)
    {
        Volatile.Write(ref _latest, analysis);
        if (analysis.Policy.HasChanges)
        {
            LogViolations(analysis.Policy);
        }
    }

    /// <summary>
    /// Each violation opened or closed becomes one OTLP log record, with the rule, severity, GPU,
    /// pid, job and evidence as attributes. Allowed findings are logged too, at a lower level, with
    /// the allowance's reason: they are audit facts, not pages.
    /// </summary>
    private void LogViolations(PolicyResult result)
    {
        foreach (var violation in result.Opened)
        {
            LogViolation("opened", violation);
        }

        foreach (var violation in result.Closed)
        {
            LogViolation("closed", violation);
        }
    }

    /// <summary>Exports what is pending and stops (the SDK flushes on dispose).</summary>
    public void Dispose()
    {
        _provider.Dispose();
        _logs.Dispose();
        _meter.Dispose();
    }

    private void LogViolation(string change, Violation v)
    {
        var level = v.IsAllowed ? LogLevel.Information : v.Severity switch
        {
            Severity.Critical => LogLevel.Critical,
            Severity.Warning => LogLevel.Warning,
            _ => LogLevel.Information,
        };
        List<KeyValuePair<string, object?>> state =
        [
            new("gpuaudit.event", "violation_" + change),
            new("gpuaudit.violation.id", v.Id),
            new("gpuaudit.violation.rule", v.Rule.Label()),
            new("gpuaudit.violation.severity", v.Severity.Label()),
            new("gpuaudit.violation.allowed", v.IsAllowed),
            new("gpuaudit.violation.allowance_reason", v.AllowedBy?.Reason),
            new("gpu.uuid", v.Uuid),
            new("process.pid", v.Pid),
            new("gpuaudit.job", v.Job),
            new("host.name", v.Node),
            new("gpuaudit.violation.evidence", string.Join("; ", v.Evidence)),
        ];
        if (v.Context.Count > 0)
        {
            // The run (--context-env) the violation came from, redacted like the evidence.
            state.Add(new("gpuaudit.violation.context", string.Join("; ", v.Context)));
        }

        var message = $"violation {change}: {v.Rule.Label()} ({v.Severity.Label()}{(v.IsAllowed ? ", allowed" : string.Empty)}) on {v.Uuid} pid {v.Pid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"} job {v.Job ?? "-"}";
        _violations.Log(level, default, state, null, (_, _) => message);
    }

    private void CreateInstruments()
    {
        Gpu("gpuaudit.gpu.utilization", "1", "Fraction of time a kernel ran.", s => s.UtilGpuPct / 100.0);
        Gpu("gpuaudit.gpu.memory.used", "By", "Framebuffer memory in use.", s => s.MemUsedBytes);
        Gpu("gpuaudit.gpu.power", "W", "Board power draw.", s => s.PowerMw / 1000.0);
        Gpu("gpuaudit.gpu.temperature", "Cel", "GPU die temperature.", s => s.TempC);
        Gpu("gpuaudit.gpu.sm_clock", "Hz", "SM clock.", s => s.SmClockMhz * 1e6);
        _meter.CreateObservableCounter("gpuaudit.gpu.energy", () => Each(g => g.Sample?.EnergyMj / 1000.0, GpuTags), "J", "Energy consumed since the driver loaded.");
        _meter.CreateObservableGauge("gpuaudit.gpu.pipe.utilization", ObservePipes, "1", "Hopper GPM pipe activity.");
        _meter.CreateObservableGauge("gpuaudit.gpu.class", () => Each(g => g.Verdict?.Confidence, g => [.. GpuTags(g), new("class", g.Verdict!.Class.Label())]), "1", "Confidence of the GPU's current workload class (tagged with the class).");
        _meter.CreateObservableGauge("gpuaudit.process.sm.utilization", () => EachProcess(p => p.Usage.SmPct / 100.0), "1", "Share of SM time used by the process.");
        _meter.CreateObservableGauge("gpuaudit.process.memory.used", () => EachProcess(p => p.Usage.UsedMemBytes), "By", "GPU memory used by the process.");
        _meter.CreateObservableGauge("gpuaudit.process.class", () => EachProcess(p => p.Verdict?.Confidence, p => p.Verdict!.Class.Label()), "1", "Confidence of the process's current workload class (tagged with the class).");
    }

    private void Gpu(string name, string unit, string description, Func<GpuSample, double?> value) =>
        _meter.CreateObservableGauge(name, () => Each(g => g.Sample is { } s ? value(s) : null, GpuTags), unit, description);

    private List<Measurement<double>> Each(Func<GpuView, double?> value, Func<GpuView, KeyValuePair<string, object?>[]> tags)
    {
        var list = new List<Measurement<double>>();
        if (Volatile.Read(ref _latest) is { } latest)
        {
            foreach (var gpu in latest.Gpus)
            {
                if (value(gpu) is { } v)
                {
                    list.Add(new Measurement<double>(v, tags(gpu)));
                }
            }
        }

        return list;
    }

    private List<Measurement<double>> EachProcess(Func<ProcessView, double?> value, Func<ProcessView, string>? className = null)
    {
        var list = new List<Measurement<double>>();
        if (Volatile.Read(ref _latest) is { } latest)
        {
            foreach (var p in latest.Processes)
            {
                if (value(p) is not { } v)
                {
                    continue;
                }

                KeyValuePair<string, object?>[] tags = className is null
                    ? [new("gpu.uuid", p.Uuid), new("process.pid", p.Pid), new("process.command", p.Identity?.Comm)]
                    : [new("gpu.uuid", p.Uuid), new("process.pid", p.Pid), new("process.command", p.Identity?.Comm), new("class", className(p))];
                list.Add(new Measurement<double>(v, tags));
            }
        }

        return list;
    }

    private List<Measurement<double>> ObservePipes()
    {
        var list = new List<Measurement<double>>();
        if (Volatile.Read(ref _latest) is not { } latest)
        {
            return list;
        }

        foreach (var gpu in latest.Gpus)
        {
            if (gpu.Sample?.Gpm is not { } gpm)
            {
                continue;
            }

            foreach (var metric in GpmMetricInfo.All)
            {
                if (GpmMetricInfo.IsPercent(metric) && gpm[metric] is { } v)
                {
                    list.Add(new Measurement<double>(v / 100.0, [.. GpuTags(gpu), new("pipe", GpmMetricInfo.PipeName(metric))]));
                }
            }
        }

        return list;
    }

    private static KeyValuePair<string, object?>[] GpuTags(GpuView gpu) =>
        [new("gpu.uuid", gpu.Device.Uuid), new("gpu.index", gpu.Device.Index), new("gpu.name", gpu.Device.Name)];
}
