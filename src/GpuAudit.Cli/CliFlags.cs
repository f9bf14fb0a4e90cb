using GpuAudit.Core;

namespace GpuAudit.Cli;

/// <summary>
/// The flags that give each <see cref="UserInput"/>: the libraries describe what is wrong with an
/// input, the command line says which flag it came from.
/// </summary>
internal static class CliFlags
{
    public static string Of(UserInput input) => input switch
    {
        UserInput.Journal => "--journal",
        UserInput.Policy => "--policy",
        UserInput.Listen => "--listen",
        UserInput.WebConfig => "--web-config",
        UserInput.ProcessMetrics => "--process-metrics",
        UserInput.Prometheus => "--prometheus",
        UserInput.ReportWindow => "--from/--to",
        UserInput.SimulatedFleet => "--simulate-gpus/--simulate-procs",
        _ => input.ToString(),
    };

    /// <summary>The one line shown for bad input: the flag it came from (when known), then the problem and the fix.</summary>
    public static string Describe(UserInputException e) => e.Input is { } input ? Of(input) + ": " + e.Message : e.Message;
}
