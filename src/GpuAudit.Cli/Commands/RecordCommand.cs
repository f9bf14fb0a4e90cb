using System.CommandLine;
using GpuAudit.Cli.Hosting;
using System.Globalization;
using GpuAudit.Core;
using GpuAudit.Core.Trace;
using GpuAudit.Nvml;

namespace GpuAudit.Cli.Commands;

/// <summary><c>gpuaudit record</c>: live NVML samples into a trace file (format v1).</summary>
internal static class RecordCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--output", "-o") { Description = "trace file to write (JSON Lines, trace format v1)", Required = true };
        var duration = new Option<double?>("--duration") { Description = "stop after this many seconds (default: until Ctrl-C or SIGTERM)" };
        var interval = new Option<double>("--interval") { Description = "seconds between polls", DefaultValueFactory = _ => 1.0 };
        var library = NvmlLibraryOption.Create();
        var command = new Command("record", "Record live GPU samples from NVML, with each GPU process's identity, into a trace file.")
        {
            output, duration, interval, library,
        };
        command.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(() => RunAsync(
            parseResult.GetValue(output)!,
            parseResult.GetValue(duration),
            parseResult.GetValue(interval),
            parseResult.GetValue(library),
            cancellationToken)));
        return command;
    }

    internal static async Task<int> RunAsync(string path, double? durationS, double intervalS, string? library, CancellationToken cancellationToken)
    {
        if (!double.IsFinite(intervalS) || intervalS <= 0)
        {
            throw new UserInputException($"--interval {Format(intervalS)}: must be a positive number of seconds, e.g. --interval 1");
        }

        if (durationS is { } d && (!double.IsFinite(d) || d <= 0))
        {
            throw new UserInputException($"--duration {Format(d)}: must be a positive number of seconds, e.g. --duration 60 (or leave it out and stop with Ctrl-C)");
        }

        var interval = TimeSpan.FromSeconds(intervalS);
        using var source = LiveNvml.Open(interval, library, new GpuAudit.Linux.ProcessInspector());
        if (source.Devices.Count == 0)
        {
            throw new UserInputException("NVML found no GPU to record" + ProblemsSuffix(source) + ": check nvidia-smi, or run gpuaudit doctor");
        }

        using var writer = new TraceWriter(CreateFile(path));
        var ticks = await TraceRecorder.RecordAsync(source, writer, interval, durationS is { } s ? TimeSpan.FromSeconds(s) : null, cancellationToken);
        await Console.Error.WriteLineAsync($"gpuaudit record: {ticks} tick(s) of {source.Devices.Count} GPU(s) written to {path}");
        return 0;
    }

    private static FileStream CreateFile(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"{path}: cannot write the trace: {e.Message}", e);
        }
    }

    private static string ProblemsSuffix(NvmlSampleSource source) =>
        source.StartupProblems.Count == 0 ? string.Empty : " (" + string.Join("; ", source.StartupProblems) + ")";

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
