using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Features;

/// <summary>
/// What a process's identity says about its GPU work: whether it maps an ML framework, whether it
/// compiles GPU code at run time without one, and whether hash constants or miner kernel names sit
/// in its memory or GPU code images. Identity only supports the hardware evidence; it never turns
/// strong hardware evidence of training or inference into hash on its own.
/// </summary>
public sealed record ProcessIdentity
{
    // Libraries only ML frameworks map. cuBLASLt is not one: CuPy and many CUDA tools load it too.
    private static readonly string[] FrameworkLibraryPrefixes =
    [
        "libtorch", "libc10", "libcudnn", "libcublas.", "libtensorflow", "libxla", "libjax", "libnccl",
        "libnvinfer", "libonnxruntime", "libtensorrt",
    ];

    // The memory_scan patterns that are hash constants; CPU crypto libraries hold SHA-256 constants in
    // file-backed pages, so only anonymous memory (where GPU code images are unpacked) counts.
    private static readonly string[] HashConstantPatterns = ["sha256_k_table", "sha256_k0_ptx_dec", "fnv_prime_ptx_dec"];

    private static readonly string[] MinerKernelWords =
    [
        "sha256", "sha3", "keccak", "ethash", "etchash", "kawpow", "progpow", "scrypt", "blake", "nonce",
        "cryptonight", "randomx", "equihash", "autolykos", "hash", "miner", "mining", "dag_search",
    ];

    public static ProcessIdentity Unknown { get; } = new();

    /// <summary>An ML framework's libraries are mapped (names in <see cref="FrameworkLibrary"/>).</summary>
    public string? FrameworkLibrary { get; init; }

    /// <summary>NVRTC (run-time GPU compilation) is mapped while no ML framework is.</summary>
    public bool RuntimeCompiledWithoutFramework { get; init; }

    /// <summary>Readable reasons that point at hash work (constants, kernel names, inspector findings).</summary>
    public IReadOnlyList<string> HashSigns { get; init; } = [];

    public bool HasHashSigns => HashSigns.Count > 0;

    public static ProcessIdentity From(ProcessRecord record)
    {
        string? framework = null;
        var nvrtc = false;
        foreach (var lib in record.GpuLibs)
        {
            nvrtc |= lib.StartsWith("libnvrtc", StringComparison.Ordinal);
            if (framework is null && Array.Exists(FrameworkLibraryPrefixes, p => lib.StartsWith(p, StringComparison.Ordinal)))
            {
                framework = lib;
            }
        }

        var signs = new List<string>();
        if (record.MemoryScan is { } scan)
        {
            foreach (var pattern in HashConstantPatterns)
            {
                if (scan.Hits.TryGetValue(pattern, out var hits) && hits.Anon > 0)
                {
                    signs.Add($"{pattern} in anonymous memory ({hits.Anon} hits)");
                }
            }

            foreach (var entry in scan.PtxEntries)
            {
                if (IsMinerKernelName(entry))
                {
                    signs.Add($"GPU kernel named {entry}");
                }
            }
        }

        return new ProcessIdentity
        {
            FrameworkLibrary = framework,
            RuntimeCompiledWithoutFramework = nvrtc && framework is null,
            HashSigns = signs,
        };
    }

    /// <summary>This identity plus the inspector's findings that point at hashing.</summary>
    public ProcessIdentity WithFindings(IReadOnlyList<ProcessFinding> findings)
    {
        var signs = new List<string>(HashSigns);
        foreach (var f in findings)
        {
            if (f.Kind is FindingKind.HashConstantInGpuCode or FindingKind.MinerKernel or FindingKind.MinerExecutable
                or FindingKind.MinerCommandLine or FindingKind.MinerLibrary
                or FindingKind.MinerKernelLaunched or FindingKind.HashKernelLaunched or FindingKind.IntegerOnlyKernels)
            {
                var sign = $"{f.Kind.Label()}: {f.Detail}";
                if (!signs.Contains(sign))
                {
                    signs.Add(sign);
                }
            }
        }

        return this with { HashSigns = signs };
    }

    private static bool IsMinerKernelName(string name)
    {
        foreach (var word in MinerKernelWords)
        {
            if (name.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
