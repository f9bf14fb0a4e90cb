using GpuAudit.Core.Classification;

namespace GpuAudit.Core.Reporting;

/// <summary>Seconds spent in each <see cref="WorkloadClass"/>: the unit of every report total.</summary>
public sealed class ClassSeconds
{
    private readonly double[] _seconds = new double[WorkloadClassNames.All.Count];

    public double this[WorkloadClass workloadClass] => _seconds[(int)workloadClass];

    public double Total => _seconds.Sum();

    /// <summary>The class with the most seconds (first in enum order on ties); null when empty.</summary>
    public WorkloadClass? Dominant
    {
        get
        {
            var best = -1;
            for (var i = 0; i < _seconds.Length; i++)
            {
                if (_seconds[i] > 0 && (best < 0 || _seconds[i] > _seconds[best]))
                {
                    best = i;
                }
            }

            return best < 0 ? null : (WorkloadClass)best;
        }
    }

    public void Add(WorkloadClass value, double seconds) => _seconds[(int)value] += seconds;

    public void Add(ClassSeconds other)
    {
        for (var i = 0; i < _seconds.Length; i++)
        {
            _seconds[i] += other._seconds[i];
        }
    }

    public static ClassSeconds Of(params (WorkloadClass Class, double Seconds)[] entries)
    {
        var result = new ClassSeconds();
        foreach (var (value, seconds) in entries)
        {
            result.Add(value, seconds);
        }

        return result;
    }
}
