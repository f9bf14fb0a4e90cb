using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Features;

/// <summary>
/// The last few busy readings of a GPU over a longer horizon than the sliding window, so work that
/// runs in short bursts (2 s of every 10 s) is judged on its own readings instead of being diluted
/// into idle windows. A reading is kept only when a process held the GPU in it or in the reading
/// before it: a busy reading with no process before or at it is the tail of work that already
/// ended (the recorder's idle trace holds such tails of the previous workload), and belongs to no
/// one. Fixed-size arrays; adding a reading never allocates.
/// </summary>
public sealed class LowDutyWindow
{
    /// <summary>Pids kept per reading for the candidate list (the ones with the largest SM share).</summary>
    private const int PidsPerReading = 4;

    private readonly int _capacity;
    private readonly double _horizonSeconds;
    private readonly double _busySmPct;
    private readonly double[] _time;
    private readonly double[] _signals;
    private readonly double[] _power;
    private readonly double[] _memUsed;
    private readonly int[] _pids;
    private int _head;
    private int _count;
    private bool _previousHadProcess;

    public LowDutyWindow(int capacity, double horizonSeconds, double busySmPct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1024);
        _capacity = capacity;
        _horizonSeconds = horizonSeconds;
        _busySmPct = busySmPct;
        _time = new double[capacity];
        _signals = new double[capacity * Signal.Count];
        _power = new double[capacity];
        _memUsed = new double[capacity];
        _pids = new int[capacity * PidsPerReading];
    }

    /// <summary>Busy readings kept (within the horizon of the newest reading seen).</summary>
    public int Count => _count;

    /// <summary>Time of the oldest kept reading (NaN when none).</summary>
    public double OldestTime => _count == 0 ? double.NaN : _time[_head];

    /// <summary>Time of the newest kept reading (NaN when none).</summary>
    public double NewestTime => _count == 0 ? double.NaN : _time[Index(_count - 1)];

    /// <summary>Offers a reading; keeps it when it is busy, has a usable GPM sample and a process held the GPU.</summary>
    public void Add(GpuSample sample)
    {
        var hadProcess = _previousHadProcess;
        _previousHadProcess = sample.Procs.Count > 0;
        while (_count > 0 && _time[_head] <= sample.Time - _horizonSeconds)
        {
            Drop();
        }

        Span<double> row = stackalloc double[Signal.Count];
        if (!Signal.TryRead(sample, row) || row[Signal.Sm] < _busySmPct || !(hadProcess || sample.Procs.Count > 0))
        {
            return;
        }

        if (_count == _capacity)
        {
            Drop();
        }

        var slot = Index(_count);
        _count++;
        _time[slot] = sample.Time;
        row.CopyTo(_signals.AsSpan(slot * Signal.Count, Signal.Count));
        _power[slot] = sample.PowerMw is { } mw ? mw / 1000.0 : double.NaN;
        _memUsed[slot] = sample.MemUsedBytes is { } b ? b / 1048576.0 : double.NaN;
        KeepLargestPids(sample.ProcSpan, _pids.AsSpan(slot * PidsPerReading, PidsPerReading));
    }

    public void Clear()
    {
        _head = 0;
        _count = 0;
        _previousHadProcess = false;
    }

    /// <summary>
    /// The features of the kept readings newer than <paramref name="after"/> (all by default), as
    /// <see cref="GpuWindow.DeviceFeatures"/> computes them for the window.
    /// </summary>
    public WindowFeatures Features(double after = double.NegativeInfinity)
    {
        Span<double> sums = stackalloc double[Signal.Count];
        double smSquares = 0, power = 0, powerSquares = 0;
        int powerReadings = 0;
        var first = 0;
        while (first < _count && _time[Index(first)] <= after)
        {
            first++;
        }

        for (var i = first; i < _count; i++)
        {
            var slot = Index(i);
            var row = _signals.AsSpan(slot * Signal.Count, Signal.Count);
            for (var f = 0; f < Signal.Count; f++)
            {
                sums[f] += double.IsNaN(row[f]) ? 0 : row[f];
            }

            smSquares += row[Signal.Sm] * row[Signal.Sm];
            if (!double.IsNaN(_power[slot]))
            {
                powerReadings++;
                power += _power[slot];
                powerSquares += _power[slot] * _power[slot];
            }
        }

        var sm = sums[Signal.Sm];
        var n = _count - first;
        return new WindowFeatures
        {
            Readings = n,
            GpmReadings = n,
            BusyReadings = n,
            BusyGpmReadings = n,
            SmActivityPct = n > 0 ? sm / n : double.NaN,
            IntegerShare = Ratio(sums[Signal.Integer], sm),
            TensorShare = Ratio(sums[Signal.Tensor], sm),
            ImmaShare = Ratio(sums[Signal.Imma], sm),
            FpShare = Ratio(sums[Signal.Fp16] + sums[Signal.Fp32], sm),
            Fp64Share = Ratio(sums[Signal.Fp64] + sums[Signal.Dfma], sm),
            DramShare = Ratio(sums[Signal.Dram], sm),
            OccupancyPct = sm > 0 ? Math.Min(100, 100 * sums[Signal.Occupancy] / sm) : double.NaN,
            PcieMiBps = Median(first, Signal.Pcie, -1),
            IntegerShareMedian = Median(first, Signal.Integer, Signal.Sm),
            ActivityCv = Cv(n, sm, smSquares),
            PowerW = powerReadings > 0 ? power / powerReadings : double.NaN,
            PowerCv = Cv(powerReadings, power, powerSquares),
            UtilGpuPct = double.NaN,
            UtilMemPct = double.NaN,
            FootprintGrowthMiB = n > 0 ? _memUsed[Index(_count - 1)] - _memUsed[Index(first)] : double.NaN,
            SoloShare = 1,
        };
    }

    /// <summary>Distinct pids that held the GPU in the kept readings (the largest few of each reading).</summary>
    public void Pids(List<int> into)
    {
        into.Clear();
        for (var i = 0; i < _count; i++)
        {
            var pids = _pids.AsSpan(Index(i) * PidsPerReading, PidsPerReading);
            foreach (var pid in pids)
            {
                if (pid > 0 && !into.Contains(pid))
                {
                    into.Add(pid);
                }
            }
        }
    }

    private static void KeepLargestPids(ReadOnlySpan<ProcessUsage> procs, Span<int> into)
    {
        into.Clear();
        Span<int> shares = stackalloc int[PidsPerReading];
        shares.Fill(-1);
        for (var i = 0; i < procs.Length && i < GpuWindow.MaxProcessesPerReading; i++)
        {
            var share = procs[i].SmPct ?? 0;
            for (var k = 0; k < into.Length; k++)
            {
                if (share > shares[k])
                {
                    for (var j = into.Length - 1; j > k; j--)
                    {
                        into[j] = into[j - 1];
                        shares[j] = shares[j - 1];
                    }

                    into[k] = procs[i].Pid;
                    shares[k] = share;
                    break;
                }
            }
        }
    }

    private double Median(int first, int numerator, int denominator)
    {
        Span<double> values = stackalloc double[_count];
        var n = 0;
        for (var i = first; i < _count; i++)
        {
            var row = _signals.AsSpan(Index(i) * Signal.Count, Signal.Count);
            var v = Signal.Value(row, numerator, denominator);
            if (!double.IsNaN(v))
            {
                values[n++] = v;
            }
        }

        return Signal.MedianInPlace(values[..n]);
    }

    private static double Ratio(double value, double sm) => sm > 0 ? value / sm : double.NaN;

    private static double Cv(int n, double sum, double squares)
    {
        if (n < 2 || sum <= 0)
        {
            return double.NaN;
        }

        var mean = sum / n;
        return Math.Sqrt(Math.Max(0, (squares / n) - (mean * mean))) / mean;
    }

    private void Drop()
    {
        _head = (_head + 1) % _capacity;
        _count--;
    }

    private int Index(int i) => (_head + i) % _capacity;
}
