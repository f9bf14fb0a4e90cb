using System.Diagnostics;
using System.Globalization;

namespace GpuAudit.Tests;

/// <summary>
/// A procfs tree built in a temporary directory for one test: processes with crafted files,
/// FIFOs in place of files, forged maps. Deleted on dispose.
/// </summary>
internal sealed class FakeProcTree : IDisposable
{
    public FakeProcTree()
    {
        Root = Directory.CreateTempSubdirectory("gpuaudit-fakeproc-").FullName;
        System.IO.File.WriteAllText(Path.Combine(Root, "stat"), "cpu  1 2 3 4\nbtime 1764000000\n");
    }

    public string Root { get; }

    /// <summary>Adds a process with a well-formed stat (and the given comm and parent) and an empty cmdline.</summary>
    public FakeProcTree Process(int pid, string comm = "victim", int parent = 1, long startTicks = 3000)
    {
        var dir = Directory.CreateDirectory(Path.Combine(Root, pid.ToString(CultureInfo.InvariantCulture))).FullName;
        System.IO.File.WriteAllText(Path.Combine(dir, "stat"), string.Create(CultureInfo.InvariantCulture, $"{pid} ({comm}) S {parent} {pid} {parent} 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 {startTicks} 1000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n"));
        System.IO.File.WriteAllText(Path.Combine(dir, "status"), "Name:\t" + comm + "\nUid:\t1000\t1000\t1000\t1000\n");
        System.IO.File.WriteAllText(Path.Combine(dir, "cgroup"), "0::/user.slice\n");
        System.IO.File.WriteAllText(Path.Combine(dir, "cmdline"), comm + "\0");
        return this;
    }

    public FakeProcTree File(int pid, string name, string content)
    {
        System.IO.File.WriteAllText(PathOf(pid, name), content);
        return this;
    }

    public FakeProcTree File(int pid, string name, byte[] content)
    {
        System.IO.File.WriteAllBytes(PathOf(pid, name), content);
        return this;
    }

    /// <summary>Replaces /proc/PID/NAME with a FIFO nobody writes to: a plain open for reading would wait forever.</summary>
    public FakeProcTree Fifo(int pid, string name)
    {
        var path = PathOf(pid, name);
        System.IO.File.Delete(path);
        var start = new ProcessStartInfo("mkfifo") { ArgumentList = { path }, RedirectStandardError = true };
        using var mkfifo = System.Diagnostics.Process.Start(start)!;
        Assert.True(mkfifo.WaitForExit(TimeSpan.FromSeconds(30)), "mkfifo did not exit within 30 s");
        Assert.True(mkfifo.ExitCode == 0, "mkfifo failed: " + mkfifo.StandardError.ReadToEnd());
        return this;
    }

    public string PathOf(int pid, string name) => Path.Combine(Root, pid.ToString(CultureInfo.InvariantCulture), name);

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
