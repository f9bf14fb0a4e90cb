namespace GpuAudit.Core.Kernels;

/// <summary>
/// The CUDA driver entry points the kernel ledger probes. The values are the BPF program's
/// <c>enum ledger_entry</c> (src/GpuAudit.Ebpf/Bpf/cuda_ledger.h): they travel as attach cookies.
/// </summary>
#pragma warning disable CA1711 // The names are the driver's (cuModuleLoadDataEx, cuLaunchKernelEx).
public enum CudaEntryPoint
{
    ModuleGetFunction = 1,
    LibraryGetKernel = 2,
    KernelGetFunction = 3,
    ModuleLoadData = 4,
    ModuleLoadDataEx = 5,
    ModuleLoadFatBinary = 6,
    LibraryLoadData = 7,
    LaunchKernel = 8,
    LaunchKernelPtsz = 9,
    LaunchKernelEx = 10,
    LaunchKernelExPtsz = 11,
    LaunchCooperativeKernel = 12,
    LaunchCooperativeKernelPtsz = 13,
    GraphLaunch = 14,
    GraphLaunchPtsz = 15,
}
#pragma warning restore CA1711

/// <summary>What kind of call an entry point is, and how the probe reads it.</summary>
public enum CudaCallKind
{
    /// <summary>Names a handle: (handle *out, owner, const char *name).</summary>
    Lookup,

    /// <summary>Maps a CUkernel to a context's CUfunction: (CUfunction *out, CUkernel).</summary>
    Alias,

    /// <summary>Loads a module or library from an image in memory: (handle *out, const void *image, ...).</summary>
    Load,

    /// <summary>A launch: counted in the kernel, by the handle in argument <see cref="CudaEntryPointInfo.HandleArgument"/>.</summary>
    Launch,
}

/// <summary>One probed symbol: its name in libcuda, its kind, and which argument holds the launched handle.</summary>
public sealed record CudaEntryPointInfo(CudaEntryPoint Entry, string Symbol, CudaCallKind Kind, int HandleArgument = 1);

public static class CudaEntryPoints
{
    /// <summary>Every probed symbol (signatures: cuda.h).</summary>
    public static IReadOnlyList<CudaEntryPointInfo> All { get; } =
    [
        new(CudaEntryPoint.ModuleGetFunction, "cuModuleGetFunction", CudaCallKind.Lookup),
        new(CudaEntryPoint.LibraryGetKernel, "cuLibraryGetKernel", CudaCallKind.Lookup),
        new(CudaEntryPoint.KernelGetFunction, "cuKernelGetFunction", CudaCallKind.Alias),
        new(CudaEntryPoint.ModuleLoadData, "cuModuleLoadData", CudaCallKind.Load),
        new(CudaEntryPoint.ModuleLoadDataEx, "cuModuleLoadDataEx", CudaCallKind.Load),
        new(CudaEntryPoint.ModuleLoadFatBinary, "cuModuleLoadFatBinary", CudaCallKind.Load),
        new(CudaEntryPoint.LibraryLoadData, "cuLibraryLoadData", CudaCallKind.Load),
        new(CudaEntryPoint.LaunchKernel, "cuLaunchKernel", CudaCallKind.Launch),
        new(CudaEntryPoint.LaunchKernelPtsz, "cuLaunchKernel_ptsz", CudaCallKind.Launch),
        new(CudaEntryPoint.LaunchKernelEx, "cuLaunchKernelEx", CudaCallKind.Launch, HandleArgument: 2),
        new(CudaEntryPoint.LaunchKernelExPtsz, "cuLaunchKernelEx_ptsz", CudaCallKind.Launch, HandleArgument: 2),
        new(CudaEntryPoint.LaunchCooperativeKernel, "cuLaunchCooperativeKernel", CudaCallKind.Launch),
        new(CudaEntryPoint.LaunchCooperativeKernelPtsz, "cuLaunchCooperativeKernel_ptsz", CudaCallKind.Launch),
        new(CudaEntryPoint.GraphLaunch, "cuGraphLaunch", CudaCallKind.Launch),
        new(CudaEntryPoint.GraphLaunchPtsz, "cuGraphLaunch_ptsz", CudaCallKind.Launch),
    ];

    public static string Symbol(this CudaEntryPoint entry) =>
        (int)entry >= 1 && (int)entry <= All.Count ? All[(int)entry - 1].Symbol : "entry " + (int)entry;

    public static bool IsLaunch(this CudaEntryPoint entry) => entry >= CudaEntryPoint.LaunchKernel && entry <= CudaEntryPoint.GraphLaunchPtsz;

    public static bool IsGraphLaunch(this CudaEntryPoint entry) => entry is CudaEntryPoint.GraphLaunch or CudaEntryPoint.GraphLaunchPtsz;
}
