using System.Runtime.InteropServices;
using GpuAudit.Nvml.Interop;

namespace GpuAudit.Nvml.Tests;

/// <summary>
/// The interop structs must be byte-for-byte the C structs of nvml.h (LP64), as listed in
/// shared/reference/nvml.md; nvmlPciInfo_t from nvml.h itself (busIdLegacy[16], five uints, busId[32]).
/// A wrong offset would not crash: it would silently read the wrong numbers.
/// </summary>
public unsafe class InteropLayoutTests
{
    [Fact]
    public void Struct_sizes_match_nvml_h()
    {
        Assert.Equal(8, sizeof(NvmlUtilization));
        Assert.Equal(24, sizeof(NvmlMemory));
        Assert.Equal(24, sizeof(NvmlProcessInfo));
        Assert.Equal(32, sizeof(NvmlProcessUtilizationSample));
        Assert.Equal(68, sizeof(NvmlPciInfo));
        Assert.Equal(8, sizeof(NvmlGpmSupport));
        Assert.Equal(40, sizeof(NvmlGpmMetric));
        Assert.Equal(24, sizeof(NvmlGpmMetricsGetHeader));
        Assert.Equal(16, sizeof(PciBusIdLegacyBuffer));
        Assert.Equal(32, sizeof(PciBusIdBuffer));
    }

    /// <summary>Every field of every struct, at its offset in nvml.h.</summary>
    public static TheoryData<Type, string, int> FieldOffsets => new()
    {
        { typeof(NvmlUtilization), nameof(NvmlUtilization.Gpu), 0 },
        { typeof(NvmlUtilization), nameof(NvmlUtilization.Memory), 4 },
        { typeof(NvmlMemory), nameof(NvmlMemory.Total), 0 },
        { typeof(NvmlMemory), nameof(NvmlMemory.Free), 8 },
        { typeof(NvmlMemory), nameof(NvmlMemory.Used), 16 },
        { typeof(NvmlProcessInfo), nameof(NvmlProcessInfo.Pid), 0 },
        { typeof(NvmlProcessInfo), nameof(NvmlProcessInfo.UsedGpuMemory), 8 },
        { typeof(NvmlProcessInfo), nameof(NvmlProcessInfo.GpuInstanceId), 16 },
        { typeof(NvmlProcessInfo), nameof(NvmlProcessInfo.ComputeInstanceId), 20 },
        { typeof(NvmlProcessUtilizationSample), nameof(NvmlProcessUtilizationSample.Pid), 0 },
        { typeof(NvmlProcessUtilizationSample), nameof(NvmlProcessUtilizationSample.TimeStamp), 8 },
        { typeof(NvmlProcessUtilizationSample), nameof(NvmlProcessUtilizationSample.SmUtil), 16 },
        { typeof(NvmlProcessUtilizationSample), nameof(NvmlProcessUtilizationSample.MemUtil), 20 },
        { typeof(NvmlProcessUtilizationSample), nameof(NvmlProcessUtilizationSample.EncUtil), 24 },
        { typeof(NvmlProcessUtilizationSample), nameof(NvmlProcessUtilizationSample.DecUtil), 28 },
        { typeof(NvmlPciInfo), nameof(NvmlPciInfo.BusIdLegacy), 0 },
        { typeof(NvmlPciInfo), nameof(NvmlPciInfo.Domain), 16 },
        { typeof(NvmlPciInfo), nameof(NvmlPciInfo.Bus), 20 },
        { typeof(NvmlPciInfo), nameof(NvmlPciInfo.Device), 24 },
        { typeof(NvmlPciInfo), nameof(NvmlPciInfo.PciDeviceId), 28 },
        { typeof(NvmlPciInfo), nameof(NvmlPciInfo.PciSubSystemId), 32 },
        { typeof(NvmlPciInfo), nameof(NvmlPciInfo.BusId), 36 },
        { typeof(NvmlGpmSupport), nameof(NvmlGpmSupport.Version), 0 },
        { typeof(NvmlGpmSupport), nameof(NvmlGpmSupport.IsSupportedDevice), 4 },
        { typeof(NvmlGpmMetric), nameof(NvmlGpmMetric.MetricId), 0 },
        { typeof(NvmlGpmMetric), nameof(NvmlGpmMetric.NvmlReturn), 4 },
        { typeof(NvmlGpmMetric), nameof(NvmlGpmMetric.Value), 8 },
        { typeof(NvmlGpmMetric), nameof(NvmlGpmMetric.ShortName), 16 },
        { typeof(NvmlGpmMetric), nameof(NvmlGpmMetric.LongName), 24 },
        { typeof(NvmlGpmMetric), nameof(NvmlGpmMetric.Unit), 32 },
        { typeof(NvmlGpmMetricsGetHeader), nameof(NvmlGpmMetricsGetHeader.Version), 0 },
        { typeof(NvmlGpmMetricsGetHeader), nameof(NvmlGpmMetricsGetHeader.NumMetrics), 4 },
        { typeof(NvmlGpmMetricsGetHeader), nameof(NvmlGpmMetricsGetHeader.Sample1), 8 },
        { typeof(NvmlGpmMetricsGetHeader), nameof(NvmlGpmMetricsGetHeader.Sample2), 16 },
    };

    [Theory]
    [MemberData(nameof(FieldOffsets))]
    public void Field_offsets_match_nvml_h(Type type, string field, int offset) =>
        Assert.Equal(offset, Marshal.OffsetOf(type, field).ToInt32());

    [Fact]
    public void Gpm_metrics_buffer_is_24_plus_40_per_metric_with_ids_at_their_slots()
    {
        Assert.Equal(24 + (40 * 16), GpmMetricsBuffer.SizeFor(16));
        uint[] ids = [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 20, 21, 60, 61];
        using var buffer = new GpmMetricsBuffer(ids);
        buffer.Prepare(0x1111, 0x2222);
        var raw = (byte*)buffer.Address;
        Assert.Equal(1u, *(uint*)raw);
        Assert.Equal(16u, *(uint*)(raw + 4));
        Assert.Equal(0x1111, *(nint*)(raw + 8));
        Assert.Equal(0x2222, *(nint*)(raw + 16));
        for (var i = 0; i < ids.Length; i++)
        {
            Assert.Equal(ids[i], *(uint*)(raw + 24 + (40 * i)));
        }

        // What NVML writes at byte 24 + 40·i + 8 is what the reader sees as the i-th value.
        *(double*)(raw + 24 + (40 * 15) + 8) = 42.5;
        Assert.Equal(42.5, buffer.Metric(15).Value);
    }
}
