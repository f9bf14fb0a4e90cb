using GpuAudit.Nvml.Interop;

namespace GpuAudit.Cli.Hosting;

/// <summary>What to say to someone who ran a GPU command on a machine without a GPU or driver.</summary>
internal static class NoGpuHint
{
    public const string Text = "on a machine without a GPU, `gpuaudit demo` shows the auditor on real H100 recordings";

    /// <summary>True for the codes that mean "no NVIDIA GPU or driver here" rather than a broken one.</summary>
    public static bool Applies(NvmlReturn code) => code is NvmlReturn.LibraryNotFound or NvmlReturn.DriverNotLoaded or NvmlReturn.GpuNotFound;
}
