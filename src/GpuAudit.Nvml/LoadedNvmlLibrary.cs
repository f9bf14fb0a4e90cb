using GpuAudit.Nvml.Interop;

namespace GpuAudit.Nvml;

/// <summary>
/// libnvidia-ml loaded with every required export, not yet initialized (<see cref="NvmlApi.Load"/>).
/// Lets <c>doctor</c> report the file and its exports even when nvmlInit_v2 then fails.
/// </summary>
public sealed class LoadedNvmlLibrary
{
    private readonly NvmlOptionalExports _optional;

    internal LoadedNvmlLibrary(string name, NvmlOptionalExports optional)
    {
        Name = name;
        _optional = optional;
    }

    /// <summary>The name or path that was loaded (default soname or the override).</summary>
    public string Name { get; }

    /// <summary>Optional entry points this library lacks.</summary>
    public IReadOnlyList<string> MissingOptionalFunctions => _optional.Missing;

    /// <summary>nvmlInit_v2; throws <see cref="NvmlException"/> with its code (DRIVER_NOT_LOADED without a driver).</summary>
    public NvmlApi Initialize()
    {
        var code = NvmlNative.Init();
        if (code != NvmlReturn.Success)
        {
            throw new NvmlException(code, "nvmlInit_v2");
        }

        return new NvmlApi(Name, _optional);
    }
}
