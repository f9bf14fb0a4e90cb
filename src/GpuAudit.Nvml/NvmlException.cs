using GpuAudit.Nvml.Interop;

namespace GpuAudit.Nvml;

/// <summary>An NVML call failed: which function, with which code, and (when known) the fix.</summary>
public sealed class NvmlException : Exception
{
    public NvmlException()
        : this(NvmlReturn.Unknown, "nvml")
    {
    }

    public NvmlException(string message)
        : base(message)
    {
        Function = "nvml";
        Code = NvmlReturn.Unknown;
    }

    public NvmlException(string message, Exception innerException)
        : base(message, innerException)
    {
        Function = "nvml";
        Code = NvmlReturn.Unknown;
    }

    public NvmlException(NvmlReturn code, string function, string? detail = null)
        : base(BuildMessage(code, function, detail))
    {
        Code = code;
        Function = function;
    }

    private NvmlException(string message, NvmlReturn code, string function)
        : base(message)
    {
        Code = code;
        Function = function;
    }

    public NvmlReturn Code { get; }

    /// <summary>The NVML entry point (or the load step) that failed.</summary>
    public string Function { get; }

    /// <summary>What a person can do about it, or null.</summary>
    public string? Fix => NvmlErrors.Fix(Code);

    /// <summary>The message and the fix on one line: what a command prints.</summary>
    public string MessageWithFix => Fix is null ? Message : Message + ": " + Fix;

    /// <summary>The library could not be loaded at all (no driver, wrong override path).</summary>
    internal static NvmlException LibraryMissing(string name) =>
        new($"NVML not found (could not load {name})", NvmlReturn.LibraryNotFound, "dlopen");

    private static string BuildMessage(NvmlReturn code, string function, string? detail) =>
        function + " failed: " + NvmlErrors.Format(code) + (detail is null ? string.Empty : ": " + detail);
}
