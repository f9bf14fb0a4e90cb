using System.Runtime.InteropServices;

namespace GpuAudit.Linux.Tests.Nvrtc;

/// <summary>
/// NVIDIA's run-time compiler, <c>libnvrtc.so.11.2</c> from Debian's <c>libnvrtc11.2</c> (NVRTC
/// 11.8: CUDA C++ to PTX, and to sm_90 cubins without a GPU). Only the calls the tests need.
/// </summary>
internal static partial class NvrtcNative
{
    public const string Library = "libnvrtc.so.11.2";

    [LibraryImport(Library, EntryPoint = "nvrtcCreateProgram", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int CreateProgram(out nint program, string source, string name, int headers, nint headerSources, nint includeNames);

    [LibraryImport(Library, EntryPoint = "nvrtcCompileProgram")]
    public static partial int CompileProgram(nint program, int optionCount, nint[] options);

    [LibraryImport(Library, EntryPoint = "nvrtcDestroyProgram")]
    public static partial int DestroyProgram(ref nint program);

    [LibraryImport(Library, EntryPoint = "nvrtcGetProgramLogSize")]
    public static partial int GetProgramLogSize(nint program, out nuint size);

    [LibraryImport(Library, EntryPoint = "nvrtcGetProgramLog")]
    public static partial int GetProgramLog(nint program, byte[] log);

    [LibraryImport(Library, EntryPoint = "nvrtcGetPTXSize")]
    public static partial int GetPtxSize(nint program, out nuint size);

    [LibraryImport(Library, EntryPoint = "nvrtcGetPTX")]
    public static partial int GetPtx(nint program, byte[] ptx);

    [LibraryImport(Library, EntryPoint = "nvrtcGetCUBINSize")]
    public static partial int GetCubinSize(nint program, out nuint size);

    [LibraryImport(Library, EntryPoint = "nvrtcGetCUBIN")]
    public static partial int GetCubin(nint program, byte[] cubin);
}
