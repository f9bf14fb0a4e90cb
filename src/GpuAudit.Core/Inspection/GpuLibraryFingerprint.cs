namespace GpuAudit.Core.Inspection;

/// <summary>
/// What the GPU libraries mapped by a process say about it: which ML frameworks it runs, whether
/// it compiles GPU code at run time with nothing but NVRTC around it (how KawPow-style miners and
/// hand-written hash kernels load), and which miner plug-ins it carries.
/// </summary>
public sealed record GpuLibraryFingerprint(IReadOnlyList<string> Frameworks, bool RuntimeCompilation, bool NvrtcOnly, IReadOnlyList<string> MinerPlugins)
{
    // Library basename prefix → framework it belongs to.
    private static readonly (string Prefix, string Framework)[] FrameworkLibraries =
    [
        ("libtorch", "pytorch"), ("libc10", "pytorch"), ("_C.cpython", "pytorch"),
        ("libtensorflow", "tensorflow"), ("_pywrap_tensorflow", "tensorflow"),
        ("xla_extension", "jax"), ("libjax", "jax"), ("jaxlib", "jax"),
        ("libonnxruntime", "onnxruntime"), ("libnvinfer", "tensorrt"), ("libcudnn", "cudnn"),
        ("cupy", "cupy"), ("libmxnet", "mxnet"), ("libpaddle", "paddle"), ("libtriton", "triton"),
    ];

    // Substrings that mark a shared object as GPU-related (kept in trace process lines).
    private static readonly string[] GpuLibraryMarkers =
    [
        "cuda", "cublas", "cudnn", "nvrtc", "nccl", "cufft", "curand", "cusparse", "cusolver", "nvidia-ml", "nvjitlink",
        "torch", "c10", "cupy", "nvinfer", "tensorflow", "xla", "xmrig", "nvptx", "onnxruntime", "triton", "ethash", "kawpow",
    ];

    /// <summary>True for a mapped shared object worth recording as GPU-related.</summary>
    public static bool IsGpuLibrary(string basename)
    {
        if (!basename.Contains(".so", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var marker in GpuLibraryMarkers)
        {
            if (basename.Contains(marker, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    public static GpuLibraryFingerprint Of(IEnumerable<string> libraryBasenames)
    {
        var frameworks = new SortedSet<string>(StringComparer.Ordinal);
        var plugins = new SortedSet<string>(StringComparer.Ordinal);
        var nvrtc = false;
        foreach (var lib in libraryBasenames)
        {
            nvrtc |= lib.Contains("nvrtc", StringComparison.OrdinalIgnoreCase);
            if (MinerSignatures.IsMinerLibrary(lib))
            {
                plugins.Add(lib);
            }

            foreach (var (prefix, framework) in FrameworkLibraries)
            {
                if (lib.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                {
                    frameworks.Add(framework);
                }
            }
        }

        // CuPy compiles its own kernels with NVRTC, so it does not make a process "framework" work.
        var mlFrameworks = frameworks.Where(f => f != "cupy").ToList();
        return new GpuLibraryFingerprint([.. frameworks], nvrtc, nvrtc && mlFrameworks.Count == 0, [.. plugins]);
    }
}
