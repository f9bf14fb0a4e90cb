using System.Runtime.CompilerServices;
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
    }

    [Fact]
    public void Utilization_and_memory_offsets()
    {
        var u = default(NvmlUtilization);
        Assert.Equal(0, Offset(ref u, ref u.Gpu));
        Assert.Equal(4, Offset(ref u, ref u.Memory));
        var m = default(NvmlMemory);
        Assert.Equal(0, Offset(ref m, ref m.Total));
        Assert.Equal(8, Offset(ref m, ref m.Free));
        Assert.Equal(16, Offset(ref m, ref m.Used));
    }

    [Fact]
    public void Process_info_offsets()
    {
        var p = default(NvmlProcessInfo);
        Assert.Equal(0, Offset(ref p, ref p.Pid));
        Assert.Equal(8, Offset(ref p, ref p.UsedGpuMemory));
        Assert.Equal(16, Offset(ref p, ref p.GpuInstanceId));
        Assert.Equal(20, Offset(ref p, ref p.ComputeInstanceId));
    }

    [Fact]
    public void Process_utilization_sample_offsets()
    {
        var s = default(NvmlProcessUtilizationSample);
        Assert.Equal(0, Offset(ref s, ref s.Pid));
        Assert.Equal(8, Offset(ref s, ref s.TimeStamp));
        Assert.Equal(16, Offset(ref s, ref s.SmUtil));
        Assert.Equal(20, Offset(ref s, ref s.MemUtil));
        Assert.Equal(24, Offset(ref s, ref s.EncUtil));
        Assert.Equal(28, Offset(ref s, ref s.DecUtil));
    }

    [Fact]
    public void Pci_info_offsets()
    {
        var p = default(NvmlPciInfo);
        Assert.Equal(0, Offset(ref p, ref p.BusIdLegacy));
        Assert.Equal(16, Offset(ref p, ref p.Domain));
        Assert.Equal(20, Offset(ref p, ref p.Bus));
        Assert.Equal(24, Offset(ref p, ref p.Device));
        Assert.Equal(28, Offset(ref p, ref p.PciDeviceId));
        Assert.Equal(32, Offset(ref p, ref p.PciSubSystemId));
        Assert.Equal(36, Offset(ref p, ref p.BusId));
        Assert.Equal(16, sizeof(PciBusIdLegacyBuffer));
        Assert.Equal(32, sizeof(PciBusIdBuffer));
    }

    [Fact]
    public void Gpm_offsets()
    {
        var support = default(NvmlGpmSupport);
        Assert.Equal(0, Offset(ref support, ref support.Version));
        Assert.Equal(4, Offset(ref support, ref support.IsSupportedDevice));
        var metric = default(NvmlGpmMetric);
        Assert.Equal(0, Offset(ref metric, ref metric.MetricId));
        Assert.Equal(4, Offset(ref metric, ref metric.NvmlReturn));
        Assert.Equal(8, Offset(ref metric, ref metric.Value));
        Assert.Equal(16, Offset(ref metric, ref metric.ShortName));
        Assert.Equal(24, Offset(ref metric, ref metric.LongName));
        Assert.Equal(32, Offset(ref metric, ref metric.Unit));
        var head = default(NvmlGpmMetricsGetHeader);
        Assert.Equal(0, Offset(ref head, ref head.Version));
        Assert.Equal(4, Offset(ref head, ref head.NumMetrics));
        Assert.Equal(8, Offset(ref head, ref head.Sample1));
        Assert.Equal(16, Offset(ref head, ref head.Sample2));
    }

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

    private static long Offset<TStruct, TField>(ref TStruct owner, ref TField field) =>
        (long)Unsafe.ByteOffset(ref Unsafe.As<TStruct, byte>(ref owner), ref Unsafe.As<TField, byte>(ref field));
}
