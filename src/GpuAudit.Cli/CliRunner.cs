using GpuAudit.Core;

namespace GpuAudit.Cli;

/// <summary>
/// Runs a command body and turns bad input into one clear line on stderr and exit code 2 — never
/// a stack trace for something the user can fix. Cancellation (Ctrl-C) exits 130 quietly; any
/// other failure prints one line and exits 70 (GPUAUDIT_DEBUG=1 lets the stack trace through).
/// </summary>
internal static class CliRunner
{
    public const int BadInput = 2;

    /// <summary>EX_SOFTWARE from sysexits.h: an internal error.</summary>
    public const int InternalError = 70;

    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (UserInputException e)
        {
            await Console.Error.WriteLineAsync("gpuaudit: " + CliFlags.Describe(e));
            return BadInput;
        }
        catch (OperationCanceledException)
        {
            return 130;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("GPUAUDIT_DEBUG") != "1")
        {
            // A bug or an environment failure, not bad input: one line, and the trace on request.
            await Console.Error.WriteLineAsync($"gpuaudit: unexpected error: {e.GetType().Name}: {e.Message} (set GPUAUDIT_DEBUG=1 for the stack trace, and please report it)");
            return InternalError;
        }
    }

    public static Task<int> Run(Func<int> body) => RunAsync(() => Task.FromResult(body()));
}
