using GpuAudit.Core;

namespace GpuAudit.Cli;

/// <summary>
/// Runs a command body and turns bad input into one clear line on stderr and exit code 2 — never
/// a stack trace for something the user can fix. Cancellation (Ctrl-C) exits 130 quietly.
/// </summary>
internal static class CliRunner
{
    public const int BadInput = 2;

    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (UserInputException e)
        {
            await Console.Error.WriteLineAsync("gpuaudit: " + e.Message);
            return BadInput;
        }
        catch (OperationCanceledException)
        {
            return 130;
        }
    }

    public static Task<int> Run(Func<int> body) => RunAsync(() => Task.FromResult(body()));
}
