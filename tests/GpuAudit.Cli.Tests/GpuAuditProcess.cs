using System.Diagnostics;

namespace GpuAudit.Cli.Tests;

/// <summary>Runs the real `gpuaudit` executable (built next to the tests) as a user would.</summary>
internal static class GpuAuditProcess
{
    public static string Dll { get; } = Path.Combine(AppContext.BaseDirectory, "gpuaudit.dll");

    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string workingDirectory, params string[] args) =>
        RunWithEnvironmentAsync(workingDirectory, new Dictionary<string, string>(), args);

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunWithEnvironmentAsync(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Runs in the test's working directory and waits (for tests written synchronously).</summary>
    public static Result Run(params string[] args)
    {
        var (code, stdout, stderr) = RunAsync(Environment.CurrentDirectory, args).GetAwaiter().GetResult();
        return new Result(code, stdout, stderr);
    }

    /// <summary>Finds an executable on PATH, or null.</summary>
    public static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    /// <summary>True when the text holds a .NET stack trace ("   at Namespace.Type.Method(").</summary>
    public static bool HasStackTrace(string text) =>
        text.Split('\n').Any(l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal) && l.Contains('(', StringComparison.Ordinal));
}
