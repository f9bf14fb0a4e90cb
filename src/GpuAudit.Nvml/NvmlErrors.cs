using GpuAudit.Nvml.Interop;

namespace GpuAudit.Nvml;

/// <summary>
/// Readable text for NVML return codes, without the library (nvmlErrorString needs a loaded
/// libnvidia-ml, and the message matters most exactly when it cannot be loaded).
/// </summary>
public static class NvmlErrors
{
    /// <summary>The nvml.h name, e.g. <c>NVML_ERROR_GPU_IS_LOST</c>.</summary>
    public static string Name(NvmlReturn code) => code switch
    {
        NvmlReturn.Success => "NVML_SUCCESS",
        NvmlReturn.Uninitialized => "NVML_ERROR_UNINITIALIZED",
        NvmlReturn.InvalidArgument => "NVML_ERROR_INVALID_ARGUMENT",
        NvmlReturn.NotSupported => "NVML_ERROR_NOT_SUPPORTED",
        NvmlReturn.NoPermission => "NVML_ERROR_NO_PERMISSION",
        NvmlReturn.AlreadyInitialized => "NVML_ERROR_ALREADY_INITIALIZED",
        NvmlReturn.NotFound => "NVML_ERROR_NOT_FOUND",
        NvmlReturn.InsufficientSize => "NVML_ERROR_INSUFFICIENT_SIZE",
        NvmlReturn.InsufficientPower => "NVML_ERROR_INSUFFICIENT_POWER",
        NvmlReturn.DriverNotLoaded => "NVML_ERROR_DRIVER_NOT_LOADED",
        NvmlReturn.Timeout => "NVML_ERROR_TIMEOUT",
        NvmlReturn.IrqIssue => "NVML_ERROR_IRQ_ISSUE",
        NvmlReturn.LibraryNotFound => "NVML_ERROR_LIBRARY_NOT_FOUND",
        NvmlReturn.FunctionNotFound => "NVML_ERROR_FUNCTION_NOT_FOUND",
        NvmlReturn.CorruptedInforom => "NVML_ERROR_CORRUPTED_INFOROM",
        NvmlReturn.GpuIsLost => "NVML_ERROR_GPU_IS_LOST",
        NvmlReturn.ResetRequired => "NVML_ERROR_RESET_REQUIRED",
        NvmlReturn.OperatingSystem => "NVML_ERROR_OPERATING_SYSTEM",
        NvmlReturn.LibRmVersionMismatch => "NVML_ERROR_LIB_RM_VERSION_MISMATCH",
        NvmlReturn.InUse => "NVML_ERROR_IN_USE",
        NvmlReturn.Memory => "NVML_ERROR_MEMORY",
        NvmlReturn.NoData => "NVML_ERROR_NO_DATA",
        NvmlReturn.VgpuEccNotSupported => "NVML_ERROR_VGPU_ECC_NOT_SUPPORTED",
        NvmlReturn.InsufficientResources => "NVML_ERROR_INSUFFICIENT_RESOURCES",
        NvmlReturn.FreqNotSupported => "NVML_ERROR_FREQ_NOT_SUPPORTED",
        NvmlReturn.ArgumentVersionMismatch => "NVML_ERROR_ARGUMENT_VERSION_MISMATCH",
        NvmlReturn.Deprecated => "NVML_ERROR_DEPRECATED",
        NvmlReturn.NotReady => "NVML_ERROR_NOT_READY",
        NvmlReturn.GpuNotFound => "NVML_ERROR_GPU_NOT_FOUND",
        NvmlReturn.InvalidState => "NVML_ERROR_INVALID_STATE",
        NvmlReturn.ResetTypeNotSupported => "NVML_ERROR_RESET_TYPE_NOT_SUPPORTED",
        NvmlReturn.Unknown => "NVML_ERROR_UNKNOWN",
        _ => "NVML return code " + ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>What the code means, in the words of nvml.h.</summary>
    public static string Describe(NvmlReturn code) => code switch
    {
        NvmlReturn.Success => "the operation was successful",
        NvmlReturn.Uninitialized => "NVML was not first initialized with nvmlInit",
        NvmlReturn.InvalidArgument => "a supplied argument is invalid",
        NvmlReturn.NotSupported => "the requested operation is not available on this device",
        NvmlReturn.NoPermission => "the current user does not have permission for this operation",
        NvmlReturn.AlreadyInitialized => "NVML is already initialized",
        NvmlReturn.NotFound => "a query to find an object was unsuccessful",
        NvmlReturn.InsufficientSize => "an input argument is not large enough",
        NvmlReturn.InsufficientPower => "a device's external power cables are not properly attached",
        NvmlReturn.DriverNotLoaded => "the NVIDIA driver is not loaded",
        NvmlReturn.Timeout => "the provided timeout passed",
        NvmlReturn.IrqIssue => "the NVIDIA kernel module detected an interrupt issue with a GPU",
        NvmlReturn.LibraryNotFound => "the NVML shared library could not be found or loaded",
        NvmlReturn.FunctionNotFound => "this version of NVML does not implement the function",
        NvmlReturn.CorruptedInforom => "the infoROM is corrupted",
        NvmlReturn.GpuIsLost => "the GPU has fallen off the bus or has otherwise become inaccessible",
        NvmlReturn.ResetRequired => "the GPU requires a reset before it can be used again",
        NvmlReturn.OperatingSystem => "the GPU control device has been blocked by the operating system or cgroups",
        NvmlReturn.LibRmVersionMismatch => "the driver and libnvidia-ml versions do not match",
        NvmlReturn.InUse => "the GPU is currently in use",
        NvmlReturn.Memory => "insufficient memory",
        NvmlReturn.NoData => "no data",
        NvmlReturn.VgpuEccNotSupported => "the vGPU operation is not available because ECC is enabled",
        NvmlReturn.InsufficientResources => "ran out of critical resources, other than memory",
        NvmlReturn.FreqNotSupported => "the frequency is not supported",
        NvmlReturn.ArgumentVersionMismatch => "the provided struct version is invalid or unsupported",
        NvmlReturn.Deprecated => "the requested functionality has been deprecated",
        NvmlReturn.NotReady => "the system is not ready for the request",
        NvmlReturn.GpuNotFound => "no GPUs were found",
        NvmlReturn.InvalidState => "the resource is not in the correct state for the operation",
        NvmlReturn.ResetTypeNotSupported => "the reset type is not supported for this device",
        NvmlReturn.Unknown => "an internal driver error occurred",
        _ => "a code this binding does not know (newer driver?)",
    };

    /// <summary>What a person can do about it, or null when there is nothing specific.</summary>
    public static string? Fix(NvmlReturn code) => code switch
    {
        NvmlReturn.LibraryNotFound => "install the NVIDIA driver or set " + NvmlLibrary.OverrideVariable + "=/path/libnvidia-ml.so.1",
        NvmlReturn.FunctionNotFound => "update the NVIDIA driver (this build binds the R510+ API)",
        NvmlReturn.DriverNotLoaded => "load the kernel module (modprobe nvidia) or install the NVIDIA driver",
        NvmlReturn.LibRmVersionMismatch => "the driver was updated without a reboot: reboot, or reload the nvidia kernel modules",
        NvmlReturn.NoPermission => "run as root or give the user access to /dev/nvidia*",
        NvmlReturn.OperatingSystem => "allow /dev/nvidia* in the container or cgroup device policy",
        NvmlReturn.GpuIsLost or NvmlReturn.ResetRequired => "check dmesg for Xid errors; the GPU needs a reset (nvidia-smi -r) or a reboot",
        NvmlReturn.GpuNotFound => "check that the GPU is visible (lspci, nvidia-smi) and passed through to this machine",
        _ => null,
    };

    /// <summary>"NAME (description)": the form every message of this project uses.</summary>
    public static string Format(NvmlReturn code) => Name(code) + " (" + Describe(code) + ")";

    /// <summary>
    /// True when the code means the whole GPU (or the driver) cannot be read this tick, whichever
    /// call said it: the collector goes down instead of a field going null. UNKNOWN (999) is not
    /// one: drivers answer it for single queries (per-process utilization, energy, GPM) while the
    /// rest of the GPU reads fine, so it loses that field only.
    /// </summary>
    public static bool IsDeviceFailure(NvmlReturn code) => code is
        NvmlReturn.GpuIsLost or NvmlReturn.ResetRequired or NvmlReturn.Uninitialized or
        NvmlReturn.DriverNotLoaded or NvmlReturn.LibRmVersionMismatch or NvmlReturn.GpuNotFound or
        NvmlReturn.OperatingSystem;

    /// <summary>
    /// True for a query this GPU or driver simply does not offer (NOT_SUPPORTED, FUNCTION_NOT_FOUND):
    /// the field is missing, and that is not worth counting as an error every poll.
    /// </summary>
    public static bool IsUnsupported(NvmlReturn code) => code is NvmlReturn.NotSupported or NvmlReturn.FunctionNotFound;
}
