using System.Reflection;
using System.Runtime.InteropServices;
using GpuAudit.Nvml.Interop;

namespace GpuAudit.Nvml;

/// <summary>
/// Finds and loads libnvidia-ml. The name is, in order: the path given in code, the
/// <see cref="OverrideVariable"/> environment variable, <see cref="DefaultName"/> (the versioned
/// soname: the unversioned .so only exists with driver dev packages). A DllImportResolver maps the
/// LibraryImport declarations to whatever was loaded. NVML is a per-process resource: the first
/// successful load wins for the life of the process.
/// </summary>
public static class NvmlLibrary
{
    public const string DefaultName = "libnvidia-ml.so.1";
    public const string OverrideVariable = "GPUAUDIT_NVML_LIBRARY";

    private static readonly Lock Gate = new();
    private static nint s_handle;
    private static bool s_resolverInstalled;

    /// <summary>The library name or path a load would try, given an explicit path or none.</summary>
    public static string ResolveName(string? explicitPath)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return explicitPath;
        }

        var fromEnvironment = Environment.GetEnvironmentVariable(OverrideVariable);
        return string.IsNullOrWhiteSpace(fromEnvironment) ? DefaultName : fromEnvironment;
    }

    /// <summary>
    /// The file the dynamic loader actually mapped (from /proc/self/maps), or null when NVML is not
    /// loaded or the maps file is unreadable. Tells a person which of several installed drivers won.
    /// </summary>
    public static string? LoadedFile()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                var slash = line.IndexOf('/', StringComparison.Ordinal);
                if (slash >= 0 && line.Contains("libnvidia-ml", StringComparison.Ordinal))
                {
                    return line[slash..];
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return null;
    }

    /// <summary>Loads the library (once per process) and returns its handle; throws <see cref="NvmlException"/> with LIBRARY_NOT_FOUND.</summary>
    internal static nint Load(string name)
    {
        lock (Gate)
        {
            if (s_handle != 0)
            {
                return s_handle;
            }

            if (!NativeLibrary.TryLoad(name, out var handle))
            {
                throw NvmlException.LibraryMissing(name);
            }

            if (!s_resolverInstalled)
            {
                NativeLibrary.SetDllImportResolver(typeof(NvmlLibrary).Assembly, Resolve);
                s_resolverInstalled = true;
            }

            s_handle = handle;
            return handle;
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == DefaultName ? s_handle : 0;
}
