using GpuAudit.Cli.Commands;

namespace GpuAudit.Cli.Tests;

public sealed class DoctorCommandTests : IDisposable
{
    private const string MissingLibrary = "/nonexistent/libnvidia-ml.so.1";
    private readonly string _procRoot = Directory.CreateTempSubdirectory("gpuaudit-proc-").FullName;

    [Fact]
    public void Without_nvml_doctor_prints_the_fix_and_fails()
    {
        // A /proc fixture where pid 1 is fully readable, so only NVML is missing.
        Directory.CreateDirectory(Path.Combine(_procRoot, "1"));
        foreach (var file in new[] { "environ", "maps", "mem" })
        {
            File.WriteAllText(Path.Combine(_procRoot, "1", file), "x");
        }

        using var output = new StringWriter();
        var exitCode = DoctorCommand.Run(output, MissingLibrary, _procRoot);

        Assert.Equal(1, exitCode);
        var golden = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "doctor-no-nvml.txt"));
        Assert.Equal(golden, output.ToString().Replace(_procRoot, "PROC", StringComparison.Ordinal));
    }

    [Fact]
    public void Unreadable_proc_entries_are_problems_with_the_capability_fix()
    {
        using var output = new StringWriter();
        DoctorCommand.Run(output, MissingLibrary, _procRoot);

        var text = output.ToString();
        Assert.Contains($"[FAIL] {_procRoot}/1/mem not readable", text, StringComparison.Ordinal);
        Assert.Contains("fix: run gpuaudit as root, or grant CAP_SYS_PTRACE", text, StringComparison.Ordinal);
        Assert.EndsWith("doctor: 4 problem(s), 0 warning(s)" + Environment.NewLine, text, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_procRoot, recursive: true);
}
