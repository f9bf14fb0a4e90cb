using System.Runtime.InteropServices;
using System.Text;

namespace GpuAudit.Linux.Tests.Nvrtc;

/// <summary>What NVRTC made of one kernel source: its PTX (NUL-terminated, as NVRTC returns it) and an sm_90 cubin.</summary>
internal sealed record CompiledKernel(string Name, byte[] Ptx, byte[] Cubin);

/// <summary>
/// Compiles CUDA C++ in this process with NVRTC, as a run-time-compiling miner does: NVRTC's own
/// heap keeps the program until it is destroyed, and the caller holds the PTX and cubin it took.
/// </summary>
internal static class NvrtcCompiler
{
    private static readonly string KernelDirectory = Path.Combine(AppContext.BaseDirectory, "Kernels");

    public static bool Available => NativeLibrary.TryLoad(NvrtcNative.Library, out _);

    /// <summary>Compiles Kernels/<paramref name="name"/>.cu to PTX (compute_90) and to an sm_90 cubin.</summary>
    public static CompiledKernel Compile(string name)
    {
        var source = File.ReadAllText(Path.Combine(KernelDirectory, name + ".cu"));
        return new CompiledKernel(name, Build(source, name, "compute_90", cubin: false), Build(source, name, "sm_90", cubin: true));
    }

    private static byte[] Build(string source, string name, string architecture, bool cubin)
    {
        Check(NvrtcNative.CreateProgram(out var program, source, name + ".cu", 0, 0, 0), "nvrtcCreateProgram");
        var options = new[] { "--gpu-architecture=" + architecture, "--std=c++14", "--include-path=" + KernelDirectory }.Select(Marshal.StringToCoTaskMemUTF8).ToArray();
        try
        {
            if (NvrtcNative.CompileProgram(program, options.Length, options) != 0)
            {
                NvrtcNative.GetProgramLogSize(program, out var logSize);
                var log = new byte[(int)logSize];
                NvrtcNative.GetProgramLog(program, log);
                throw new InvalidOperationException("NVRTC could not compile " + name + ".cu: " + Encoding.UTF8.GetString(log).TrimEnd('\0'));
            }

            byte[] output;
            if (cubin)
            {
                Check(NvrtcNative.GetCubinSize(program, out var size), "nvrtcGetCUBINSize");
                output = new byte[(int)size];
                Check(NvrtcNative.GetCubin(program, output), "nvrtcGetCUBIN");
            }
            else
            {
                Check(NvrtcNative.GetPtxSize(program, out var size), "nvrtcGetPTXSize");
                output = new byte[(int)size];
                Check(NvrtcNative.GetPtx(program, output), "nvrtcGetPTX");
            }

            return output;
        }
        finally
        {
            foreach (var option in options)
            {
                Marshal.FreeCoTaskMem(option);
            }

            NvrtcNative.DestroyProgram(ref program);
        }
    }

    private static void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new InvalidOperationException(call + " returned NVRTC error " + result);
        }
    }
}
