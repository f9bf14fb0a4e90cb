using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GpuAudit.Cli.Tests;

/// <summary>A long-running child process (agent, Prometheus) that a test starts and always stops.</summary>
internal sealed class BackgroundProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private BackgroundProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static BackgroundProcess StartGpuAudit(string workingDirectory, params string[] args) =>
        Start("dotnet", workingDirectory, [GpuAuditProcess.Dll, .. args]);

    /// <summary>gpuaudit with extra environment variables (e.g. the NVML stand-in's NVML_STUB_*).</summary>
    public static BackgroundProcess StartGpuAudit(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Start("dotnet", workingDirectory, [GpuAuditProcess.Dll, .. args], environment);

    public static BackgroundProcess Start(string fileName, string workingDirectory, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return new BackgroundProcess(Process.Start(start)!);
    }

    public static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    /// <summary>SIGTERM (what systemd and the kubelet send): the process shuts down cleanly; waits for it.</summary>
    public void Stop(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            Assert.True(kill.WaitForExit(TimeSpan.FromSeconds(10)), "kill -TERM did not exit within 10 s");
        }

        _process.WaitForExit(timeout);
    }

    /// <summary>SIGKILL: no handler runs, nothing is flushed — a crash.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            Assert.True(_process.WaitForExit(TimeSpan.FromSeconds(10)), "the process outlived SIGKILL by 10 s");
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds or the time is up.</summary>
    public static async Task<T?> WaitForAsync<T>(Func<Task<T?>> probe, TimeSpan timeout)
        where T : class
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await probe() is { } value)
                {
                    return value;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(250);
        }

        return null;
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
