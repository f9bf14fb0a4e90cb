using System.CommandLine;
using System.Globalization;
using GpuAudit.Core;
using GpuAudit.Linux;

namespace GpuAudit.Cli.Commands;

/// <summary>
/// <c>gpuaudit inspect --pid PID</c>: everything the inspector knows about one process — identity,
/// job, libraries, connections, GPU code found in its memory, and the evidence drawn from them.
/// </summary>
internal static class InspectCommand
{
    // One-off inspection from a shell: a larger budget than the agent's background scans.
    private static readonly GpuCodeScanOptions InteractiveScan = new()
    {
        PerScanBudget = TimeSpan.FromSeconds(30),
        PerMinuteBudget = TimeSpan.FromSeconds(30),
    };

    public static Command Create()
    {
        var pid = new Option<int>("--pid") { Description = "Process to inspect", Required = true };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text" };
        var procRoot = new Option<string>("--proc-root") { Description = "procfs to read (default /proc)", DefaultValueFactory = _ => ProcFileSystem.DefaultRoot };
        var allowNet = new Option<string[]>("--allow-net")
        {
            Description = "Networks (CIDR) outbound connections may reach; others are flagged. Repeatable",
            AllowMultipleArgumentsPerToken = true,
        };
        var noMemoryScan = new Option<bool>("--no-memory-scan") { Description = "Skip the GPU code scan of /proc/PID/mem" };

        var command = new Command("inspect", "Show who runs a process, for which job, with what GPU code and which connections");
        command.Options.Add(pid);
        command.Options.Add(json);
        command.Options.Add(procRoot);
        command.Options.Add(allowNet);
        command.Options.Add(noMemoryScan);
        command.SetAction((parseResult, ct) => CliRunner.RunAsync(() => Task.FromResult(Run(
            parseResult.GetValue(pid),
            parseResult.GetValue(json),
            parseResult.GetValue(procRoot) ?? ProcFileSystem.DefaultRoot,
            parseResult.GetValue(allowNet) ?? [],
            parseResult.GetValue(noMemoryScan),
            parseResult.InvocationConfiguration.Output,
            ct))));
        return command;
    }

    private static int Run(int pid, bool asJson, string procRoot, string[] allowNet, bool noMemoryScan, TextWriter output, CancellationToken cancellationToken)
    {
        InspectorOptions options;
        try
        {
            options = new InspectorOptions { EgressAllowlist = InspectorOptions.ParseAllowlist(allowNet) };
        }
        catch (FormatException e)
        {
            throw new UserInputException("--allow-net: " + e.Message);
        }

        if (!Directory.Exists(procRoot))
        {
            throw new UserInputException("--proc-root " + procRoot + " does not exist: give the procfs mount (default /proc)");
        }

        var inspection = new ProcessInspector(procRoot, options).Inspect(pid)
            ?? throw new UserInputException("no process with pid " + pid.ToString(CultureInfo.InvariantCulture) + " under " + procRoot
                + " (it may have exited, or runs in another pid namespace: give that namespace's procfs with --proc-root)");
        var scan = noMemoryScan ? null : new GpuCodeScanner(procRoot, InteractiveScan).Scan(pid, cancellationToken);

        if (asJson)
        {
            output.WriteLine(ProcessInspectionJson.ToJson(inspection, scan));
        }

        else
        {
            ProcessInspectionText.Write(output, inspection, scan);
        }

        return 0;
    }
}
