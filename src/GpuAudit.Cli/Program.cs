using GpuAudit.Cli;

var root = CommandCatalog.CreateRoot();
return await CliParser.InvokeAsync(root, args, Console.Error);
