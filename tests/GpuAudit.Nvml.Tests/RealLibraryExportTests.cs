using System.Runtime.InteropServices;
using GpuAudit.Nvml.Interop;

namespace GpuAudit.Nvml.Tests;

/// <summary>
/// The binding's symbols against NVIDIA's own R535 libnvidia-ml (Debian libnvidia-ml1). Loaded with
/// NativeLibrary directly and freed: the binding's process-wide loader stays untouched for the
/// other tests of this process.
/// </summary>
[Trait("Category", "Integration")]
public class RealLibraryExportTests
{
    [RealNvmlFact]
    public void Every_required_symbol_is_exported_and_of_the_optional_ones_only_the_13x_temperature_call_is_missing()
    {
        var library = NativeLibrary.Load(RealNvml.Path);
        try
        {
            Assert.All(NvmlNative.RequiredExports, symbol => Assert.True(NativeLibrary.TryGetExport(library, symbol, out _), symbol + " is missing"));
            var missing = NvmlOptionalExports.Names.Where(symbol => !NativeLibrary.TryGetExport(library, symbol, out _)).ToList();

            // R535 predates nvmlDeviceGetTemperatureV (13.x); it still has the deprecated nvmlDeviceGetTemperature,
            // nvmlDeviceGetMemoryInfo_v2, the MIG calls and nvmlGpmMigSampleGet.
            Assert.Equal(["nvmlDeviceGetTemperatureV"], missing);
        }
        finally
        {
            NativeLibrary.Free(library);
        }
    }

    [RealNvmlFact]
    public void Without_a_driver_nvml_init_answers_driver_not_loaded_through_the_binding_s_own_struct_free_path()
    {
        // The same entry point the binding calls first; no GPU, no kernel module here.
        var library = NativeLibrary.Load(RealNvml.Path);
        try
        {
            unsafe
            {
                var init = (delegate* unmanaged<NvmlReturn>)NativeLibrary.GetExport(library, "nvmlInit_v2");
                Assert.Equal(NvmlReturn.DriverNotLoaded, init());
            }
        }
        finally
        {
            NativeLibrary.Free(library);
        }
    }
}
