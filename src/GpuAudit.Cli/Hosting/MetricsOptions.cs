using System.CommandLine;
using GpuAudit.Agent.Exporters;

namespace GpuAudit.Cli.Hosting;

/// <summary>The /metrics options of a command, added to it and read back together.</summary>
internal sealed record MetricsOptions(Option<string?> WebConfig, Option<string> ProcessMetrics, Option<int> MaxProcessSeries)
{
    public IEnumerable<Option> All => [WebConfig, ProcessMetrics, MaxProcessSeries];

    public PrometheusExporterOptions Exporter(ParseResult parse)
    {
        var max = parse.GetValue(MaxProcessSeries);
        return max < 0
            ? throw new Core.UserInputException("--max-process-series must be 0 or more (0 exports no per-process series)")
            : new PrometheusExporterOptions { ProcessMetrics = PrometheusExporterOptions.ParseMode(parse.GetValue(ProcessMetrics)!), MaxProcessSeries = max };
    }
}
