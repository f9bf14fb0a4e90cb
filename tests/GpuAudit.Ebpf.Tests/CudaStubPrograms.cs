using System.Diagnostics;

namespace GpuAudit.Ebpf.Tests;

/// <summary>
/// The stand-in libcuda.so.1 (CudaStub/libcuda-stub.c) and the launcher program
/// (CudaStub/launcher.c), compiled with gcc once per test run.
/// </summary>
internal static class CudaStubPrograms
{
    private static readonly Lazy<(string Library, string Launcher)> Built = new(Build);

    public static string Directory => Path.GetDirectoryName(Built.Value.Library)!;

    public static string Library => Built.Value.Library;

    public static string Launcher => Built.Value.Launcher;

    /// <summary>Starts the launcher against the stand-in (or the libcuda in <paramref name="libraryDirectory"/>).</summary>
    public static LauncherProcess Start(IEnumerable<string> arguments, string? libraryDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(Launcher) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["LD_LIBRARY_PATH"] = libraryDirectory ?? Directory;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new LauncherProcess(Process.Start(start)!);
    }

    /// <summary>Runs a command line that ends by exec-ing the launcher (unshare ... sh -c '... exec launcher').</summary>
    public static LauncherProcess StartCommand(IReadOnlyList<string> command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["LD_LIBRARY_PATH"] = Directory;
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        return new LauncherProcess(Process.Start(start)!);
    }

    public static (int ExitCode, string Output) Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"{program} did not exit within 2 minutes");
        return (process.ExitCode, stdout + stderr.Result);
    }

    private static (string, string) Build()
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("gpuaudit-cuda-stub-").FullName;
        var sources = Path.Combine(AppContext.BaseDirectory, "CudaStub");
        var library = Path.Combine(dir, "libcuda.so.1");
        var launcher = Path.Combine(dir, "launcher");
        var (code, output) = Run("gcc", "-shared", "-fPIC", "-O1", "-Wall", "-Wextra", "-Werror", "-Wl,-soname,libcuda.so.1", "-o", library, Path.Combine(sources, "libcuda-stub.c"));
        Assert.True(code == 0, "gcc (stand-in libcuda) failed: " + output);
        (code, output) = Run("gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", launcher, Path.Combine(sources, "launcher.c"), "-L" + dir, "-l:libcuda.so.1");
        Assert.True(code == 0, "gcc (launcher) failed: " + output);
        return (library, launcher);
    }
}

/// <summary>A running launcher: its pid once it printed "ready", and its own counts at the end.</summary>
internal sealed class LauncherProcess(Process process) : IDisposable
{
    public int Pid { get; } = WaitReady(process);

    /// <summary>Waits for the launcher to finish and returns "launched NAME N" as NAME → N.</summary>
    public Dictionary<string, long> WaitForCounts(TimeSpan timeout)
    {
        var rest = process.StandardOutput.ReadToEndAsync();
        Assert.True(process.WaitForExit(timeout), "launcher did not finish");
        if (process.ExitCode != 0)
        {
            Assert.Fail("launcher failed: " + process.StandardError.ReadToEnd());
        }

        return rest.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith("launched ", StringComparison.Ordinal))
            .Select(l => l.Split(' '))
            .ToDictionary(f => f[1], f => long.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture));
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill();
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        process.Dispose();
    }

    private static int WaitReady(Process process)
    {
        var read = process.StandardOutput.ReadLineAsync();
        Assert.True(read.Wait(TimeSpan.FromSeconds(30)), "launcher printed nothing within 30 s");
        var line = read.Result;
        if (line?.StartsWith("ready ", StringComparison.Ordinal) != true)
        {
            process.WaitForExit(5000);
            Assert.Fail("launcher did not start: " + line + (process.HasExited ? process.StandardError.ReadToEnd() : string.Empty));
        }

        return int.Parse(line["ready ".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
