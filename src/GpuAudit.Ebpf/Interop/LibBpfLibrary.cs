using System.Reflection;
using System.Runtime.InteropServices;

namespace GpuAudit.Ebpf.Interop;

/// <summary>
/// Loads libbpf (the versioned soname: the unversioned .so only comes with libbpf-dev) once per
/// process and maps the LibraryImport declarations to it. A missing libbpf is not an error of
/// the agent: the ledger is optional, and the caller says why it is off.
/// </summary>
internal static class LibBpfLibrary
{
    public const string DefaultName = "libbpf.so.1";

    private static readonly Lock Gate = new();
    private static nint s_handle;

    /// <summary>Loads libbpf and silences its own stderr printing; null on success, else why not.</summary>
    public static string? TryLoad()
    {
        lock (Gate)
        {
            if (s_handle != 0)
            {
                return null;
            }

            if (!NativeLibrary.TryLoad(DefaultName, typeof(LibBpfLibrary).Assembly, DllImportSearchPath.SafeDirectories, out var handle))
            {
                return $"{DefaultName} not found (install libbpf1, Debian/Ubuntu: apt-get install libbpf1)";
            }

            s_handle = handle;
            NativeLibrary.SetDllImportResolver(typeof(LibBpfLibrary).Assembly, Resolve);
            // libbpf prints warnings to stderr by default; the ledger reports errno itself.
            LibBpfNative.SetPrint(0);
            return null;
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == DefaultName ? s_handle : 0;
}
