using System.CommandLine;
using GpuAudit.Agent.Exporters;
using GpuAudit.Agent.Pipeline;
using GpuAudit.Cli.Hosting;
using GpuAudit.Core;

namespace GpuAudit.Cli.Commands;

/// <summary>
/// `gpuaudit agent`: the node daemon. Polls every GPU through NVML at the interval, analyses each
/// tick, serves /metrics. A GPU or call that fails takes that GPU's collector down for the tick;
/// the loop goes on.
/// </summary>
internal static class AgentCommand
{
    public static Command Create()
    {
        var interval = new Option<double>("--interval") { Description = "Seconds between polls.", DefaultValueFactory = _ => 1.0 };
        var listen = new Option<string>("--listen") { Description = "Serve /metrics on HOST:PORT.", DefaultValueFactory = _ => MetricsEndpoint.DefaultListen };
        var library = new Option<string?>("--nvml-library") { Description = "Path of libnvidia-ml.so.1 (default: the driver's, or $GPUAUDIT_NVML_LIBRARY)." };
        var summary = new Option<bool>("--summary") { Description = "Print the live per-GPU and per-process summary." };
        var command = new Command("agent", "Watch this node's GPUs: poll NVML, classify, export /metrics.") { interval, listen, library, summary };
        command.SetAction((parse, ct) => CliRunner.RunAsync(async () =>
        {
            var seconds = parse.GetValue(interval);
            if (seconds is < 0.1 or > 3600)
            {
                throw new UserInputException("--interval must be between 0.1 and 3600 seconds");
            }

            var period = TimeSpan.FromSeconds(seconds);
            var source = LiveNvml.Open(period, parse.GetValue(library), new ProcIdentityDescriber());
            foreach (var problem in source.StartupProblems)
            {
                AuditSession.Warn(problem);
            }

            if (source.Devices.Count == 0)
            {
                AuditSession.Warn("NVML found no GPU; serving self-health metrics only (run gpuaudit doctor)");
            }

            using var session = new AuditSession(
                source,
                new SessionOptions { Listen = parse.GetValue(listen), PollInterval = period, ShowSummary = parse.GetValue(summary) },
                new RecordedInsightProvider(),
                NoJobMap.Instance,
                TimeProvider.System);
            await session.RunAsync(ct);
            return 0;
        }));
        return command;
    }
}
