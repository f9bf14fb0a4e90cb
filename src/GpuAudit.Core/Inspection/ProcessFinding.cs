namespace GpuAudit.Core.Inspection;

/// <summary>Kinds of evidence the process inspector can attach to a GPU process.</summary>
public enum FindingKind
{
    /// <summary>Executable or comm is a known miner.</summary>
    MinerExecutable,

    /// <summary>Command line carries a miner marker (stratum URL, --donate-level, --algo ethash...).</summary>
    MinerCommandLine,

    /// <summary>A miner plug-in library is mapped (libxmrig-cuda.so...).</summary>
    MinerLibrary,

    /// <summary>A GPU code image in memory names a known miner kernel.</summary>
    MinerKernel,

    /// <summary>A hash-algorithm constant table sits inside a GPU code image.</summary>
    HashConstantInGpuCode,

    /// <summary>An established outbound connection to a port pools commonly use.</summary>
    PoolPortConnection,

    /// <summary>An established outbound connection outside the configured allowlist.</summary>
    NonAllowlistedEgress,

    /// <summary>A tunnel tool or ssh forwarding in the process tree.</summary>
    Tunnel,

    /// <summary>
    /// A hash-algorithm constant table in anonymous memory, not located inside a GPU code image:
    /// weaker than <see cref="HashConstantInGpuCode"/> (a trace's memory_scan only says where it was).
    /// </summary>
    HashConstantInAnonymousMemory,

    /// <summary>The kernel ledger saw the process launch a kernel with a miner's name.</summary>
    MinerKernelLaunched,

    /// <summary>The kernel ledger saw the process launch a kernel whose loaded image holds hash constants.</summary>
    HashKernelLaunched,

    /// <summary>The process launches only integer bitwise/shift elementwise kernels and no floating-point kernel: hashing written as framework ops.</summary>
    IntegerOnlyKernels,

    /// <summary>SM activity while the process's libcuda carried the probes, and no launch seen: it drives the GPU past the driver API (raw ioctls).</summary>
    DriverBypass,
}

/// <summary>
/// One piece of evidence about a process, with a readable detail ("ssh -R 9000:localhost:22 (pid 812)").
/// The detail quotes what the process controls (names, arguments, kernel names) and is stored and
/// exported, so it is redacted whenever it is set.
/// </summary>
public sealed record ProcessFinding(FindingKind Kind, string Detail)
{
    public string Detail { get; init => field = SecretRedactor.RedactText(value); } = SecretRedactor.RedactText(Detail);
}

public static class FindingKindNames
{
    private static readonly string[] Names =
    [
        "miner_executable", "miner_cmdline", "miner_library", "miner_kernel",
        "hash_constant_in_gpu_code", "pool_port_connection", "non_allowlisted_egress", "tunnel",
        "hash_constant_in_anon_memory", "miner_kernel_launched", "hash_kernel_launched", "integer_only_kernels",
        "driver_bypass",
    ];

    /// <summary>snake_case label for metrics and JSON.</summary>
    public static string Label(this FindingKind kind) => Names[(int)kind];
}
