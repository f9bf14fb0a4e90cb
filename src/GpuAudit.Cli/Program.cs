using System.CommandLine;
using GpuAudit.Cli;

var root = new RootCommand("gpuaudit: tells what the GPUs of a node are really doing (training, inference, compute or hash-like work), per process and per job.");
foreach (var command in CommandCatalog.Create())
{
    root.Subcommands.Add(command);
}

return await root.Parse(args).InvokeAsync();
