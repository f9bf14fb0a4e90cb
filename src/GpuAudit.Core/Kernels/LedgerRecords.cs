using GpuAudit.Core.Inspection;

namespace GpuAudit.Core.Kernels;

/// <summary>
/// One event from the probes' ring buffer: a successful lookup (a handle named), a
/// cuKernelGetFunction alias, or a module load. Everything in it came from the watched process.
/// </summary>
/// <param name="Handle">The handle the call created (CUfunction, CUkernel, CUmodule, CUlibrary).</param>
/// <param name="Owner">Lookups: the module or library searched; aliases: the CUkernel.</param>
/// <param name="Image">Module loads: the address of the image in the process.</param>
/// <param name="Name">Lookups: the name asked for, as read (at most 1023 bytes, non-printable bytes replaced).</param>
public sealed record LedgerEvent(CudaEntryPoint Entry, int Pid, ulong Handle, ulong Owner, ulong Image, DateTimeOffset Time, string? Name);

/// <summary>One in-kernel counter: launches of one handle through one entry point by one process.</summary>
public readonly record struct LaunchCounter(int Pid, CudaEntryPoint Entry, ulong Handle, long Count, DateTimeOffset First, DateTimeOffset Last);

/// <summary>Where a kernel's name came from.</summary>
public enum KernelNameSource
{
    /// <summary>A lookup (cuModuleGetFunction, cuLibraryGetKernel, or cuKernelGetFunction of a looked-up kernel) seen by the probes.</summary>
    Lookup,

    /// <summary>No lookup seen: the process looked it up before the ledger attached, or the name budget ran out.</summary>
    None,
}

/// <summary>Launches of one kernel by one process (all its handles and entry points together).</summary>
public sealed record KernelLaunches
{
    /// <summary>Demangled name; null when no lookup named it.</summary>
    public string? Name { get; init; }

    /// <summary>The name as looked up (mangled C++ for most kernels).</summary>
    public string? RawName { get; init; }

    public KernelNameSource NameSource { get; init; }

    /// <summary>The launched handle (the first, when several handles carry the name).</summary>
    public ulong Handle { get; init; }

    public long Launches { get; init; }

    public DateTimeOffset FirstSeen { get; init; }

    public DateTimeOffset LastSeen { get; init; }

    /// <summary>The entry points its launches went through (cuLaunchKernel, cuGraphLaunch...).</summary>
    public IReadOnlyList<CudaEntryPoint> EntryPoints { get; init; } = [];

    /// <summary>The load of its module or library, when the probes saw it (with the image's code once read).</summary>
    public ModuleLoad? Module { get; init; }

    /// <summary>Hash algorithms whose constants sit in the image this kernel was loaded from.</summary>
    public IReadOnlyList<string> ImageHashAlgorithms => Module?.Code?.HashHits.Select(h => h.Algorithm).Distinct().ToList() ?? [];

    /// <summary>True for the per-process overflow counter (launches of handles past the per-process limit).</summary>
    public bool Overflow { get; init; }

    /// <summary>True for a CUDA graph launch: the handle is a graph, not a kernel.</summary>
    public bool Graph => EntryPoints.Count > 0 && EntryPoints.All(e => e.IsGraphLaunch());

    /// <summary>The name to show: the demangled name, or what the row is when unnamed.</summary>
    public string DisplayName => Name
        ?? (Overflow ? "(handles past the per-process limit)"
        : Graph ? $"(CUDA graph 0x{Handle:x})"
        : $"(unnamed 0x{Handle:x})");
}

/// <summary>
/// A module or library load seen by the probes: the exact image the process handed the driver,
/// and what that image holds once read (<see cref="Code"/>; null until read, or when unreadable).
/// </summary>
public sealed record ModuleLoad(CudaEntryPoint Entry, ulong Module, ulong Image, DateTimeOffset Time, GpuCodeImage? Code = null);

/// <summary>What the ledger knows about one process.</summary>
public sealed record ProcessKernels
{
    public required int Pid { get; init; }

    /// <summary>Kernels by launches, most first.</summary>
    public IReadOnlyList<KernelLaunches> Kernels { get; init; } = [];

    public long TotalLaunches { get; init; }

    /// <summary>Launches of handles no lookup named (looked up before the ledger attached).</summary>
    public long UnnamedLaunches { get; init; }

    public IReadOnlyList<ModuleLoad> Modules { get; init; } = [];

    /// <summary>Lookups and loads the probes dropped because this process used up its event budget.</summary>
    public long EventsDropped { get; init; }
}
