using System.Runtime.InteropServices;

namespace GpuAudit.Nvml.Interop;

/// <summary>
/// Native memory for one nvmlGpmMetricsGet_t request: the 24-byte head followed by 40-byte
/// nvmlGpmMetric_t entries, the first <see cref="Count"/> of them requested. The header declares
/// <c>metrics[NVML_GPM_METRIC_MAX]</c> and that maximum grew under the same struct version (98 in
/// 12.x, 210 in 13.0, 333 in 13.2+): R535 reads only numMetrics entries, but a library built on a
/// newer header may touch the whole declared array, so the buffer is as large as the newest
/// header's struct (<see cref="HeaderMetricCapacity"/>). Allocated once and reused every poll.
/// </summary>
public sealed unsafe class GpmMetricsBuffer : IDisposable
{
    /// <summary>NVML_GPM_METRIC_MAX in the newest header read (CUDA 13.2+ nvml.h).</summary>
    public const int HeaderMetricCapacity = 333;

    private readonly uint[] _metricIds;
    private byte* _memory;

    public GpmMetricsBuffer(ReadOnlySpan<uint> metricIds)
    {
        _metricIds = metricIds.ToArray();
        AllocatedBytes = SizeFor(Math.Max(_metricIds.Length, HeaderMetricCapacity));
        _memory = (byte*)NativeMemory.AllocZeroed((nuint)AllocatedBytes);
    }

    /// <summary>Metrics requested (numMetrics).</summary>
    public int Count => _metricIds.Length;

    /// <summary>Bytes of native memory behind <see cref="Address"/>: the newest header's whole struct.</summary>
    public int AllocatedBytes { get; }

    /// <summary>The nvmlGpmMetricsGet_t* to pass to nvmlGpmMetricsGet.</summary>
    public nint Address => (nint)Live;

    /// <summary>24 + 40·count bytes: the struct with a metrics array of that length.</summary>
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
