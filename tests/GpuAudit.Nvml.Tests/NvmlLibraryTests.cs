using GpuAudit.Nvml.Interop;

namespace GpuAudit.Nvml.Tests;

public class NvmlLibraryTests
{
    [Fact]
    public void An_explicit_path_wins_over_the_default()
    {
        Assert.Equal("/opt/nvidia/libnvidia-ml.so.1", NvmlLibrary.ResolveName("/opt/nvidia/libnvidia-ml.so.1"));
    }

    [Fact]
    public void Opening_a_library_that_is_not_there_says_what_to_do()
    {
        var e = Assert.Throws<NvmlException>(() => NvmlApi.Open("/nonexistent/libnvidia-ml.so.1"));
        Assert.Equal(NvmlReturn.LibraryNotFound, e.Code);
        Assert.Equal(
            "NVML not found (could not load /nonexistent/libnvidia-ml.so.1): install the NVIDIA driver or set GPUAUDIT_NVML_LIBRARY=/path/libnvidia-ml.so.1",
            e.MessageWithFix);
    }
}
