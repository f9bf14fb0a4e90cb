using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Features;

/// <summary>
/// The GPM quantities the window keeps per reading, in one flat row so sums and the per-process
/// fit run over plain arrays. PCIe is tx + rx.
/// </summary>
internal static class Signal
{
    public const int Sm = 0;
    public const int Occupancy = 1;
    public const int Integer = 2;
    public const int Tensor = 3;
    public const int Imma = 4;
    public const int Dfma = 5;
    public const int Fp16 = 6;
    public const int Fp32 = 7;
    public const int Fp64 = 8;
    public const int Dram = 9;
    public const int Pcie = 10;
    public const int Count = 11;

    private static readonly GpmMetric[] Core =
    [
        GpmMetric.SmUtil, GpmMetric.SmOccupancy, GpmMetric.IntegerUtil, GpmMetric.AnyTensorUtil,
        GpmMetric.ImmaTensorUtil, GpmMetric.DfmaTensorUtil, GpmMetric.Fp16Util, GpmMetric.Fp32Util,
        GpmMetric.Fp64Util, GpmMetric.DramBwUtil,
    ];

    /// <summary>
    /// Copies a GPM reading into <paramref name="row"/>; false when the reading cannot be used: a core
    /// pipe metric is missing (NVML returns zeros with a NaN when two GPM samples are too close), or
    /// GPM claims idle SMs while NVML saw kernels running most of the interval.
    /// </summary>
    public static bool TryRead(GpuSample sample, Span<double> row)
    {
        if (sample.Gpm is not { } gpm)
        {
            return false;
        }

        for (var i = 0; i < Core.Length; i++)
        {
            var v = gpm.RawOrNaN(Core[i]);
            if (double.IsNaN(v))
            {
                return false;
            }

            row[i] = v;
        }

        var tx = gpm.RawOrNaN(GpmMetric.PcieTxPerSec);
        var rx = gpm.RawOrNaN(GpmMetric.PcieRxPerSec);
        row[Pcie] = double.IsNaN(tx) && double.IsNaN(rx) ? double.NaN : (double.IsNaN(tx) ? 0 : tx) + (double.IsNaN(rx) ? 0 : rx);
        return !(row[Sm] <= 0 && sample.UtilGpuPct >= 50);
    }

    /// <summary>A row's signal <paramref name="numerator"/> per <paramref name="denominator"/> (NaN when that is 0), or the raw signal when <paramref name="denominator"/> is -1.</summary>
    public static double Value(ReadOnlySpan<double> row, int numerator, int denominator) =>
        denominator < 0 ? row[numerator] : row[denominator] > 0 ? row[numerator] / row[denominator] : double.NaN;

    /// <summary>The median of <paramref name="values"/>, which it sorts in place; NaN when there are none.</summary>
    public static double MedianInPlace(Span<double> values)
    {
        var n = values.Length;
        if (n == 0)
        {
            return double.NaN;
        }

        values.Sort();
        return n % 2 == 1 ? values[n / 2] : (values[(n / 2) - 1] + values[n / 2]) / 2;
    }
}
