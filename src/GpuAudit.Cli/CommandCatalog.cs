using System.CommandLine;
using GpuAudit.Cli.Commands;

namespace GpuAudit.Cli;

/// <summary>Every subcommand of the one executable. Each lives in its own file under Commands/.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> Create() =>
    [
        AgentCommand.Create(),
        DemoCommand.Create(),
        ReplayCommand.Create(),
        ClassifyCommand.Create(),
        InspectCommand.Create(),
        KernelsCommand.Create(),
        DoctorCommand.Create(),
        RecordCommand.Create(),
        ReportCommand.Create(),
        VerifyCommand.Create(),
    ];
}
