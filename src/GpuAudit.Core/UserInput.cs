namespace GpuAudit.Core;

/// <summary>
/// Which of the user's inputs a <see cref="UserInputException"/> is about. Libraries say what is
/// wrong in their own words; the command line names the flag that gave the input (the CLI
/// translates), so a library never needs to know how it was configured.
/// </summary>
public enum UserInput
{
    /// <summary>The journal directory.</summary>
    Journal,

    /// <summary>The policy file.</summary>
    Policy,

    /// <summary>The address to serve /metrics on.</summary>
    Listen,

    /// <summary>The /metrics server's TLS and basic-auth configuration file.</summary>
    WebConfig,

    /// <summary>How much of each process the exporter publishes.</summary>
    ProcessMetrics,

    /// <summary>The Prometheus server to read from.</summary>
    Prometheus,

    /// <summary>The time window of a report.</summary>
    ReportWindow,

    /// <summary>The shape of a simulated node.</summary>
    SimulatedFleet,
}
