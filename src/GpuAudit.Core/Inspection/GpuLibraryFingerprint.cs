namespace GpuAudit.Core.Inspection;

/// <summary>
/// What the GPU libraries mapped by a process say about it: which ML frameworks it runs, whether
/// it compiles GPU code at run time with nothing but NVRTC around it (how KawPow-style miners and
/// hand-written hash kernels load), and which miner plug-ins it carries. The only place these
/// library rules are written: the inspector, replayed process lines and the classifier all use it.
/// </summary>
public sealed record GpuLibraryFingerprint(IReadOnlyList<string> Frameworks, bool RuntimeCompilation, bool NvrtcOnly, IReadOnlyList<string> MinerPlugins)
{
    // Library basename prefix → framework it belongs to. cuBLAS/cuBLASLt are not here: CuPy and
    // many CUDA tools load them too.
    private static readonly (string Prefix, string Framework)[] FrameworkLibraries =
    [
        ("libtorch", "pytorch"), ("libc10", "pytorch"), ("_C.cpython", "pytorch"),
        ("libtensorflow", "tensorflow"), ("_pywrap_tensorflow", "tensorflow"),
        ("xla_extension", "jax"), ("libjax", "jax"), ("jaxlib", "jax"), ("libxla", "jax"),
        ("libonnxruntime", "onnxruntime"), ("libnvinfer", "tensorrt"), ("libtensorrt", "tensorrt"), ("libcudnn", "cudnn"),
        ("libnccl", "nccl"), ("cupy", "cupy"), ("libmxnet", "mxnet"), ("libpaddle", "paddle"), ("libtriton", "triton"),
    ];

    // CuPy compiles its own kernels with NVRTC and maps cuDNN-free math: it does not make a process "ML framework" work.
    private const string NotAnMlFramework = "cupy";

    /// <summary>The first mapped library of an ML framework (for evidence lines), or null.</summary>
    public string? FrameworkLibrary { get; private init; }

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
        string? frameworkLibrary = null;
        var nvrtc = false;
        foreach (var lib in libraryBasenames)
        {
            // The NVRTC library itself; CuPy's binding module (nvrtc.cpython-*.so) is mapped whether or not it compiles.
            nvrtc |= lib.StartsWith("libnvrtc", StringComparison.Ordinal);
            if (MinerSignatures.IsMinerLibrary(lib))
            {
                plugins.Add(lib);
            }

            foreach (var (prefix, framework) in FrameworkLibraries)
            {
                if (lib.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                {
                    frameworks.Add(framework);
                    frameworkLibrary ??= framework == NotAnMlFramework ? null : lib;
                }
            }
        }

        return new GpuLibraryFingerprint([.. frameworks], nvrtc, nvrtc && frameworkLibrary is null, [.. plugins]) { FrameworkLibrary = frameworkLibrary };
    }
}
