using System.CommandLine;
using GpuAudit.Cli.Commands;

namespace GpuAudit.Cli;

/// <summary>Every subcommand of the one executable. Each lives in its own file under Commands/.</summary>
internal static class CommandCatalog
{
    /// <summary>The root command with every subcommand.</summary>
    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("gpuaudit: tells what the GPUs of a node are really doing (training, inference, compute or hash-like work), per process and per job.");
        foreach (var command in Create())
        {
            root.Subcommands.Add(command);
        }

        return root;
    }

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
