namespace GpuAudit.Core.Samples;

/// <summary>
/// One GPM reading: every metric over the interval between two GPM samples. A metric NVML did not
/// deliver (per-metric error, NaN, absent from a trace) is missing (<c>null</c>), never zero:
/// a classifier must be able to tell "the integer pipe was idle" from "we do not know".
/// </summary>
public sealed class GpmMetrics
{
    // NaN marks a missing value internally so the object stays one flat array.
    private readonly double[] _values = CreateMissing();

    public double? this[GpmMetric metric]
    {
        get
        {
            var v = _values[(int)metric];
            return double.IsNaN(v) ? null : v;
        }

        init => _values[(int)metric] = value is { } v && double.IsFinite(v) ? v : double.NaN;
    }

    /// <summary>Sets a metric; non-finite values become missing. For sources building a reading.</summary>
    public void Set(GpmMetric metric, double? value) =>
        _values[(int)metric] = value is { } v && double.IsFinite(v) ? v : double.NaN;

    /// <summary>The value, or NaN when missing (for arithmetic on hot paths that check NaN themselves).</summary>
    public double RawOrNaN(GpmMetric metric) => _values[(int)metric];

    public bool HasAny
    {
        get
        {
            foreach (var v in _values)
            {
                if (!double.IsNaN(v))
                {
                    return true;
                }
            }

            return false;
        }
    }

    public bool ValueEquals(GpmMetrics? other)
    {
        if (other is null)
        {
            return false;
        }

        for (var i = 0; i < _values.Length; i++)
        {
            var a = _values[i];
            var b = other._values[i];
            if (!(a.Equals(b)))
            {
                return false;
            }
        }

        return true;
    }

    private static double[] CreateMissing()
    {
        var values = new double[GpmMetricInfo.Count];
        Array.Fill(values, double.NaN);
        return values;
    }
}
