using System.Diagnostics;

namespace GpuAudit.Cli.Tests;

/// <summary>
/// The stand-in libnvidia-ml (NvmlStub/libnvidia-ml-stub.c: the header's layouts and NVML's own
/// checks), compiled once per class. Tests run gpuaudit as a child process: NVML loading is
/// process-wide, and no library may stay loaded in the test process, where other tests expect
/// NVML to be missing.
/// </summary>
public sealed class NvmlStubLibrary : IDisposable
{
    public NvmlStubLibrary()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("gpuaudit-nvml-stub-").FullName;
        Path = System.IO.Path.Combine(Directory, "libnvidia-ml.so.1");
        if (ToolRequirement.Find("gcc") is null && Environment.GetEnvironmentVariable(ToolRequirement.RequireAllVariable) != "1")
        {
            return; // the tests are skipped; nothing to build
        }

        var source = System.IO.Path.Combine(AppContext.BaseDirectory, "NvmlStub", "libnvidia-ml-stub.c");
        var (exitCode, output) = NvmlStubTests.Run(new Dictionary<string, string>(), "gcc", "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-Wno-unused-parameter", "-o", Path, source, "-lm");
        Assert.True(exitCode == 0, "gcc failed: " + output);
    }

    public string Directory { get; }

    public string Path { get; }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
