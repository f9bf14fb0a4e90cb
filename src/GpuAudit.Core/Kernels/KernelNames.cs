namespace GpuAudit.Core.Kernels;

/// <summary>Kernel names as people read them.</summary>
public static class KernelNames
{
    /// <summary>The demangled form of a C++ (Itanium ABI) name; other names, and names this cannot demangle, unchanged.</summary>
    public static string Demangle(string name) => ItaniumDemangler.TryDemangle(name) ?? name;
}
