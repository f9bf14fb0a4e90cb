using System.Runtime.InteropServices;

namespace GpuAudit.Nvml.Interop;

/// <summary>
/// Native memory for one nvmlGpmMetricsGet_t request: the 24-byte head followed by one 40-byte
/// nvmlGpmMetric_t per requested metric. Allocated once and reused every poll (the poll path
/// stays allocation-free); the metric ids are written once, the head is refreshed per call.
/// </summary>
public sealed unsafe class GpmMetricsBuffer : IDisposable
{
    private readonly uint[] _metricIds;
    private byte* _memory;

    public GpmMetricsBuffer(ReadOnlySpan<uint> metricIds)
    {
        _metricIds = metricIds.ToArray();
        _memory = (byte*)NativeMemory.AllocZeroed((nuint)SizeFor(_metricIds.Length));
    }

    public int Count => _metricIds.Length;

    /// <summary>The nvmlGpmMetricsGet_t* to pass to nvmlGpmMetricsGet.</summary>
    public nint Address => (nint)Live;

    /// <summary>24 + 40·count bytes (the struct's own array length varies by header release).</summary>
    public static int SizeFor(int metricCount) => sizeof(NvmlGpmMetricsGetHeader) + (metricCount * sizeof(NvmlGpmMetric));

    /// <summary>Fills the head and resets every entry before a call.</summary>
    public void Prepare(nint sample1, nint sample2)
    {
        var head = (NvmlGpmMetricsGetHeader*)Live;
        head->Version = NvmlGpmMetricsGetHeader.CurrentVersion;
        head->NumMetrics = (uint)_metricIds.Length;
        head->Sample1 = sample1;
        head->Sample2 = sample2;
        for (var i = 0; i < _metricIds.Length; i++)
        {
            Metric(i) = new NvmlGpmMetric { MetricId = _metricIds[i], NvmlReturn = NvmlReturn.Unknown, Value = double.NaN };
        }
    }

    /// <summary>The i-th entry of the metrics array (as NVML filled it after a call).</summary>
    public ref NvmlGpmMetric Metric(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _metricIds.Length);
        return ref ((NvmlGpmMetric*)(Live + sizeof(NvmlGpmMetricsGetHeader)))[index];
    }

    public void Dispose()
    {
        if (_memory is not null)
        {
            NativeMemory.Free(_memory);
            _memory = null;
        }
    }

    private byte* Live
    {
        get
        {
            ObjectDisposedException.ThrowIf(_memory is null, this);
            return _memory;
        }
    }
}
