using System.CommandLine;
using GpuAudit.Nvml;

namespace GpuAudit.Cli.Commands;

/// <summary>The <c>--nvml-library</c> flag shared by the commands that talk to NVML.</summary>
internal static class NvmlLibraryOption
{
    public static Option<string?> Create() => new("--nvml-library")
    {
        Description = $"path of libnvidia-ml to load (default: ${NvmlLibrary.OverrideVariable}, else {NvmlLibrary.DefaultName})",
    };
}
