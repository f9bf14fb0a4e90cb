using GpuAudit.Nvml.Interop;

namespace GpuAudit.Nvml.Tests;

public class NvmlErrorsTests
{
    // nvmlReturn_t from nvml.h. Note: shared/reference/nvml.md lists 12 as LIB_RM_VERSION_MISMATCH;
    // the header has 12 = LIBRARY_NOT_FOUND and 18 = LIB_RM_VERSION_MISMATCH, and the header wins.
    [Theory]
    [InlineData(NvmlReturn.Success, 0, "NVML_SUCCESS")]
    [InlineData(NvmlReturn.Uninitialized, 1, "NVML_ERROR_UNINITIALIZED")]
    [InlineData(NvmlReturn.InvalidArgument, 2, "NVML_ERROR_INVALID_ARGUMENT")]
    [InlineData(NvmlReturn.NotSupported, 3, "NVML_ERROR_NOT_SUPPORTED")]
    [InlineData(NvmlReturn.NoPermission, 4, "NVML_ERROR_NO_PERMISSION")]
    [InlineData(NvmlReturn.AlreadyInitialized, 5, "NVML_ERROR_ALREADY_INITIALIZED")]
    [InlineData(NvmlReturn.NotFound, 6, "NVML_ERROR_NOT_FOUND")]
    [InlineData(NvmlReturn.InsufficientSize, 7, "NVML_ERROR_INSUFFICIENT_SIZE")]
    [InlineData(NvmlReturn.InsufficientPower, 8, "NVML_ERROR_INSUFFICIENT_POWER")]
    [InlineData(NvmlReturn.DriverNotLoaded, 9, "NVML_ERROR_DRIVER_NOT_LOADED")]
    [InlineData(NvmlReturn.Timeout, 10, "NVML_ERROR_TIMEOUT")]
    [InlineData(NvmlReturn.IrqIssue, 11, "NVML_ERROR_IRQ_ISSUE")]
    [InlineData(NvmlReturn.LibraryNotFound, 12, "NVML_ERROR_LIBRARY_NOT_FOUND")]
    [InlineData(NvmlReturn.FunctionNotFound, 13, "NVML_ERROR_FUNCTION_NOT_FOUND")]
    [InlineData(NvmlReturn.CorruptedInforom, 14, "NVML_ERROR_CORRUPTED_INFOROM")]
    [InlineData(NvmlReturn.GpuIsLost, 15, "NVML_ERROR_GPU_IS_LOST")]
    [InlineData(NvmlReturn.ResetRequired, 16, "NVML_ERROR_RESET_REQUIRED")]
    [InlineData(NvmlReturn.OperatingSystem, 17, "NVML_ERROR_OPERATING_SYSTEM")]
    [InlineData(NvmlReturn.LibRmVersionMismatch, 18, "NVML_ERROR_LIB_RM_VERSION_MISMATCH")]
    [InlineData(NvmlReturn.InUse, 19, "NVML_ERROR_IN_USE")]
    [InlineData(NvmlReturn.Memory, 20, "NVML_ERROR_MEMORY")]
    [InlineData(NvmlReturn.NoData, 21, "NVML_ERROR_NO_DATA")]
    [InlineData(NvmlReturn.VgpuEccNotSupported, 22, "NVML_ERROR_VGPU_ECC_NOT_SUPPORTED")]
    [InlineData(NvmlReturn.InsufficientResources, 23, "NVML_ERROR_INSUFFICIENT_RESOURCES")]
    [InlineData(NvmlReturn.FreqNotSupported, 24, "NVML_ERROR_FREQ_NOT_SUPPORTED")]
    [InlineData(NvmlReturn.ArgumentVersionMismatch, 25, "NVML_ERROR_ARGUMENT_VERSION_MISMATCH")]
    [InlineData(NvmlReturn.Deprecated, 26, "NVML_ERROR_DEPRECATED")]
    [InlineData(NvmlReturn.NotReady, 27, "NVML_ERROR_NOT_READY")]
    [InlineData(NvmlReturn.GpuNotFound, 28, "NVML_ERROR_GPU_NOT_FOUND")]
    [InlineData(NvmlReturn.InvalidState, 29, "NVML_ERROR_INVALID_STATE")]
    [InlineData(NvmlReturn.ResetTypeNotSupported, 30, "NVML_ERROR_RESET_TYPE_NOT_SUPPORTED")]
    [InlineData(NvmlReturn.Unknown, 999, "NVML_ERROR_UNKNOWN")]
    public void Every_code_has_its_nvml_h_value_and_name(NvmlReturn code, int value, string name)
    {
        Assert.Equal(value, (int)code);
        Assert.Equal(name, NvmlErrors.Name(code));
    }

    [Fact]
    public void Every_enum_member_has_its_own_name_and_description()
    {
        var codes = Enum.GetValues<NvmlReturn>();
        Assert.Equal(32, codes.Length);
        Assert.Equal(codes.Length, codes.Select(NvmlErrors.Name).Distinct().Count());
        Assert.Equal(codes.Length, codes.Select(NvmlErrors.Describe).Distinct().Count());
    }

    [Fact]
    public void A_code_newer_than_the_binding_still_reads()
    {
        Assert.Equal("NVML return code 31", NvmlErrors.Name((NvmlReturn)31));
        Assert.Contains("newer driver", NvmlErrors.Describe((NvmlReturn)31), StringComparison.Ordinal);
    }

    [Fact]
    public void Exception_names_the_function_code_and_fix()
    {
        var e = new NvmlException(NvmlReturn.LibraryNotFound, "loading libnvidia-ml.so.1");
        Assert.Equal(NvmlReturn.LibraryNotFound, e.Code);
        Assert.Equal("loading libnvidia-ml.so.1", e.Function);
        Assert.StartsWith("loading libnvidia-ml.so.1 failed: NVML_ERROR_LIBRARY_NOT_FOUND (", e.Message, StringComparison.Ordinal);
        Assert.Equal("install the NVIDIA driver or set GPUAUDIT_NVML_LIBRARY=/path/libnvidia-ml.so.1", e.Fix);
    }

    [Theory]
    [InlineData(NvmlReturn.GpuIsLost, true)]
    [InlineData(NvmlReturn.DriverNotLoaded, true)]
    [InlineData(NvmlReturn.NotSupported, false)]
    [InlineData(NvmlReturn.FunctionNotFound, false)]
    [InlineData(NvmlReturn.NoPermission, false)]
    [InlineData(NvmlReturn.NotFound, false)]
    [InlineData(NvmlReturn.Unknown, false)]
    public void Only_device_level_codes_take_a_collector_down(NvmlReturn code, bool down) =>
        Assert.Equal(down, NvmlErrors.IsDeviceFailure(code));
}
