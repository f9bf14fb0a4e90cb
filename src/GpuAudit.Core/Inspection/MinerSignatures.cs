using System.Collections.Frozen;

namespace GpuAudit.Core.Inspection;

/// <summary>
/// What security tools use to recognise miners (docs/inspector.md, shared/reference/field.md):
/// executable names, command-line markers, plug-in libraries and GPU kernel names.
/// </summary>
public static class MinerSignatures
{
    private static readonly FrozenSet<string> Executables = new[]
    {
        "xmrig", "xmr-stak", "ethminer", "nsfminer", "t-rex", "lolminer", "nbminer", "gminer", "miner",
        "phoenixminer", "teamredminer", "nanominer", "bminer", "wildrig", "srbminer", "srbminer-multi",
        "ccminer", "cgminer", "bfgminer", "sgminer", "kawpowminer", "minerd", "cpuminer", "xmrig-cuda",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static readonly string[] UrlMarkers = ["stratum+tcp://", "stratum+ssl://", "stratum2+tcp://", "stratum+tls://", "stratum1+tcp://"];

    private static readonly string[] FlagMarkers = ["--donate-level", "--nicehash"];

    private static readonly FrozenSet<string> MinerAlgorithms = new[]
    {
        "ethash", "etchash", "kawpow", "autolykos2", "autolykos", "rx/0", "randomx", "cryptonight", "cn/r", "cn/0", "progpow", "octopus", "firopow",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static readonly string[] KernelPrefixes = ["ethash_", "progpow_", "cryptonight_", "kawpow", "blake2b_", "autolykos", "keccak256_gpu", "randomx_", "xmrig_"];

    // Words in a kernel's name that suggest hashing. Weaker than a known miner kernel: "hash" also
    // names hash joins and hash tables, so these only support hardware evidence, never make a finding.
    private static readonly string[] HashLikeKernelWords =
    [
        "sha256", "sha3", "keccak", "ethash", "etchash", "kawpow", "progpow", "scrypt", "blake", "nonce",
        "cryptonight", "randomx", "equihash", "autolykos", "hash", "miner", "mining", "dag_search",
    ];

    /// <summary>True when the basename of <paramref name="pathOrName"/> is a known miner (case-insensitive).</summary>
    public static bool IsMinerExecutable(string? pathOrName)
    {
        if (string.IsNullOrEmpty(pathOrName))
        {
            return false;
        }

        var name = Path.GetFileName(pathOrName.AsSpan().TrimEnd());
        return Executables.GetAlternateLookup<ReadOnlySpan<char>>().Contains(name);
    }

    /// <summary>The miner markers of an argv, each as readable text ("stratum+tcp:// URL", "--algo kawpow").</summary>
    public static IReadOnlyList<string> CommandLineMarkers(IReadOnlyList<string> argv)
    {
        var markers = new List<string>();
        for (var i = 0; i < argv.Count; i++)
        {
            var arg = argv[i];
            foreach (var url in UrlMarkers)
            {
                if (arg.Contains(url, StringComparison.OrdinalIgnoreCase))
                {
                    markers.Add(url + " URL");
                }
            }

            foreach (var flag in FlagMarkers)
            {
                if (arg.Equals(flag, StringComparison.OrdinalIgnoreCase) || arg.StartsWith(flag + "=", StringComparison.OrdinalIgnoreCase))
                {
                    markers.Add(flag);
                }
            }

            var next = i + 1 < argv.Count ? argv[i + 1] : null;
            if (arg == "-o" && next is not null && next.StartsWith("pool.", StringComparison.OrdinalIgnoreCase))
            {
                markers.Add("-o pool.");
            }

            var algorithm = AlgorithmValue(arg, next);
            if (algorithm is not null && MinerAlgorithms.Contains(algorithm))
            {
                markers.Add("--algo " + algorithm);
            }
        }

        return markers;
    }

    /// <summary>True for a miner plug-in library (libxmrig-cuda.so and its versions).</summary>
    public static bool IsMinerLibrary(string basename) =>
        basename.Contains("xmrig", StringComparison.OrdinalIgnoreCase)
        || basename.StartsWith("libethash", StringComparison.OrdinalIgnoreCase)
        || basename.StartsWith("libkawpow", StringComparison.OrdinalIgnoreCase);

    /// <summary>True for kernel names found in miner sources (plain or C++-mangled).</summary>
    public static bool IsMinerKernel(string kernelName)
    {
        if (kernelName.Contains("_gpu_hash_", StringComparison.Ordinal))
        {
            return true;
        }

        foreach (var prefix in KernelPrefixes)
        {
            if (kernelName.Contains(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True for kernel names that suggest hashing (sha256_*, *_nonce, dag_search...): a hint that
    /// supports hash-like hardware evidence, not evidence on its own.
    /// </summary>
    public static bool IsHashLikeKernel(string kernelName)
    {
        foreach (var word in HashLikeKernelWords)
        {
            if (kernelName.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static string? AlgorithmValue(string arg, string? next)
    {
        if (arg is "-a" or "--algo" or "--algorithm")
        {
            return next;
        }

        foreach (var prefix in (string[])["--algo=", "--algorithm=", "-a="])
        {
            if (arg.StartsWith(prefix, StringComparison.Ordinal))
            {
                return arg[prefix.Length..];
            }
        }

        return null;
    }
}
