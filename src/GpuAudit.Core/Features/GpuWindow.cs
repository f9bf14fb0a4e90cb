using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Features;

/// <summary>
/// The sliding window of one GPU: a ring buffer of readings plus running sums over it, so adding a
/// reading and reading the features cost the same however wide the window is. Also keeps, per
/// process, the sums behind the fit that splits the device counters between processes
/// (<see cref="ProcessAttribution"/>). Allocates only when a process is first seen.
/// </summary>
public sealed class GpuWindow
{
    /// <summary>Processes per GPU the fit tracks; readings naming more stay out of the fit.</summary>
    public const int MaxProcesses = 8;

    // Full resummation every this many readings, so subtracting evicted readings cannot drift.
    private const int ResyncEvery = 4096;

    private readonly double _windowSeconds;
    private readonly double _busySmPct;
    private readonly double _busyUtilPct;
    private readonly int _capacity;

    // Ring of readings.
    private readonly double[] _time;
    private readonly bool[] _gpm;
    private readonly bool[] _busy;
    private readonly double[] _signals;
    private readonly double[] _utilGpu;
    private readonly double[] _utilMem;
    private readonly double[] _power;
    private readonly double[] _memUsed;
    private readonly double[] _share;
    private readonly double[] _procMem;
    private readonly bool[] _present;
    private int _head;
    private int _count;
    private int _sinceResync;

    private readonly RunningSums _sums = new();
    private readonly ProcessAttribution _attribution;

    public GpuWindow(double windowSeconds, int capacity, double busySmPct, double busyUtilPct, double ridge)
    {
        // The medians sort a stack copy of the window: keep it small enough for the stack.
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 4096);
        _windowSeconds = windowSeconds;
        _capacity = capacity;
        _busySmPct = busySmPct;
        _busyUtilPct = busyUtilPct;
        _time = new double[capacity];
        _gpm = new bool[capacity];
        _busy = new bool[capacity];
        _signals = new double[capacity * Signal.Count];
        _utilGpu = new double[capacity];
        _utilMem = new double[capacity];
        _power = new double[capacity];
        _memUsed = new double[capacity];
        _share = new double[capacity * MaxProcesses];
        _procMem = new double[capacity * MaxProcesses];
        _present = new bool[capacity * MaxProcesses];
        _attribution = new ProcessAttribution(MaxProcesses, ridge);
    }

    /// <summary>Readings now in the window.</summary>
    public int Count => _count;

    /// <summary>Time of the newest reading.</summary>
    public double LatestTime => _count == 0 ? double.NaN : _time[Index(_count - 1)];

    internal ProcessAttribution Attribution => _attribution;

    public void Add(GpuSample sample)
    {
        while (_count > 0 && (_count == _capacity || _time[_head] <= sample.Time - _windowSeconds))
        {
            Evict();
        }

        var slot = Index(_count);
        _count++;
        _time[slot] = sample.Time;
        var row = _signals.AsSpan(slot * Signal.Count, Signal.Count);
        var gpm = Signal.TryRead(sample, row);
        _gpm[slot] = gpm;
        _utilGpu[slot] = sample.UtilGpuPct ?? double.NaN;
        _utilMem[slot] = sample.UtilMemPct ?? double.NaN;
        _power[slot] = sample.PowerMw is { } mw ? mw / 1000.0 : double.NaN;
        _memUsed[slot] = sample.MemUsedBytes is { } b ? b / 1048576.0 : double.NaN;
        _busy[slot] = gpm ? row[Signal.Sm] >= _busySmPct : _utilGpu[slot] >= _busyUtilPct;
        ReadShares(sample, slot, gpm ? row[Signal.Sm] : double.NaN);

        if (++_sinceResync >= ResyncEvery)
        {
            Resync();
        }
        else
        {
            Accumulate(slot, +1);
        }
    }

    /// <summary>The whole GPU's features over the window.</summary>
    public WindowFeatures DeviceFeatures()
    {
        var s = _sums;
        var sm = s.Signal[Signal.Sm];
        double Share(int signal) => sm > 0 ? s.Signal[signal] / sm : double.NaN;
        return new WindowFeatures
        {
            Readings = _count,
            GpmReadings = s.GpmReadings,
            BusyReadings = s.BusyReadings,
            BusyGpmReadings = s.BusyGpm,
            SmActivityPct = s.BusyGpm > 0 ? sm / s.BusyGpm : double.NaN,
            IntegerShare = Share(Signal.Integer),
            TensorShare = Share(Signal.Tensor),
            ImmaShare = Share(Signal.Imma),
            FpShare = sm > 0 ? (s.Signal[Signal.Fp16] + s.Signal[Signal.Fp32]) / sm : double.NaN,
            Fp64Share = sm > 0 ? (s.Signal[Signal.Fp64] + s.Signal[Signal.Dfma]) / sm : double.NaN,
            DramShare = Share(Signal.Dram),
            OccupancyPct = sm > 0 ? Math.Min(100, 100 * s.Signal[Signal.Occupancy] / sm) : double.NaN,
            PcieMiBps = MedianOverBusy(Signal.Pcie, -1),
            IntegerShareMedian = MedianOverBusy(Signal.Integer, Signal.Sm),
            ActivityCv = Cv(s.BusyGpm, sm, s.SmSquares),
            PowerW = s.PowerReadings > 0 ? s.Power / s.PowerReadings : double.NaN,
            PowerCv = Cv(s.PowerReadings, s.Power, s.PowerSquares),
            UtilGpuPct = s.UtilReadings > 0 ? s.UtilGpu / s.UtilReadings : double.NaN,
            UtilMemPct = s.UtilMemReadings > 0 ? s.UtilMem / s.UtilMemReadings : double.NaN,
            FootprintGrowthMiB = Growth(_memUsed, 1, 0),
            SoloShare = 1,
        };
    }

    /// <summary>Pids of the processes seen in the window, in slot order.</summary>
    public int ProcessPids(Span<int> into) => _attribution.ActivePids(into);

    /// <summary>
    /// Fits every process's signature on the current window (least squares of the device counters on
    /// the processes' SM shares); call once per verdict, before <see cref="ProcessFeatures"/>.
    /// </summary>
    public void FitProcesses() => _attribution.Fit(_sums.Signal, _sums.BusyGpm);

    /// <summary>One process's features from the last <see cref="FitProcesses"/>; null when the pid is not in the window.</summary>
    public WindowFeatures? ProcessFeatures(int pid, in WindowFeatures device)
    {
        var slot = _attribution.SlotOf(pid);
        return slot < 0 ? null : _attribution.Features(slot, device, Growth(_procMem, MaxProcesses, slot));
    }

    /// <summary>Drops everything (the GPU went away or the source restarted).</summary>
    public void Clear()
    {
        _head = 0;
        _count = 0;
        _sums.Clear();
        _attribution.Clear();
    }

    private void ReadShares(GpuSample sample, int slot, double deviceSm)
    {
        var shares = _share.AsSpan(slot * MaxProcesses, MaxProcesses);
        var mems = _procMem.AsSpan(slot * MaxProcesses, MaxProcesses);
        var present = _present.AsSpan(slot * MaxProcesses, MaxProcesses);
        shares.Fill(double.NaN);
        mems.Fill(double.NaN);
        present.Clear();
        var procs = sample.Procs;
        if (procs.Count == 0 || procs.Count > MaxProcesses)
        {
            return;
        }

        // Indexed loops: foreach over IReadOnlyList would allocate an enumerator per sample.
        var anyShare = false;
        for (var i = 0; i < procs.Count; i++)
        {
            anyShare |= procs[i].SmPct.HasValue;
        }

        // A lone process owns all the activity even when NVML had no per-process sample for it.
        var fallback = !anyShare && procs.Count == 1 ? (double.IsNaN(deviceSm) ? (sample.UtilGpuPct ?? 0) : deviceSm) / 100.0 : double.NaN;
        for (var i = 0; i < procs.Count; i++)
        {
            var p = procs[i];
            var s = _attribution.Acquire(p.Pid);
            if (s < 0)
            {
                continue;
            }

            _attribution.Reference(s, +1);
            present[s] = true;
            mems[s] = p.UsedMemBytes is { } b ? b / 1048576.0 : double.NaN;
            shares[s] = anyShare ? (p.SmPct ?? 0) / 100.0 : fallback;
        }
    }

    private void Evict()
    {
        Accumulate(_head, -1);
        var present = _present.AsSpan(_head * MaxProcesses, MaxProcesses);
        for (var s = 0; s < MaxProcesses; s++)
        {
            if (present[s])
            {
                _attribution.Reference(s, -1);
            }
        }

        _head = (_head + 1) % _capacity;
        _count--;
    }

    private void Resync()
    {
        _sinceResync = 0;
        _sums.Clear();
        _attribution.ClearSums();
        for (var i = 0; i < _count; i++)
        {
            Accumulate(Index(i), +1);
        }
    }

    private void Accumulate(int slot, int sign)
    {
        var s = _sums;
        var busy = _busy[slot];
        Add(ref s.UtilGpu, ref s.UtilReadings, _utilGpu[slot], sign);
        Add(ref s.UtilMem, ref s.UtilMemReadings, _utilMem[slot], sign);
        if (busy)
        {
            s.BusyReadings += sign;
            var p = _power[slot];
            if (!double.IsNaN(p))
            {
                s.PowerReadings += sign;
                s.Power += sign * p;
                s.PowerSquares += sign * p * p;
            }
        }

        if (!_gpm[slot])
        {
            return;
        }

        s.GpmReadings += sign;
        if (!busy)
        {
            return;
        }

        var row = _signals.AsSpan(slot * Signal.Count, Signal.Count);
        s.BusyGpm += sign;
        for (var i = 0; i < Signal.Count; i++)
        {
            if (i == Signal.Pcie && double.IsNaN(row[i]))
            {
                continue;
            }

            s.Signal[i] += sign * row[i];
        }

        if (!double.IsNaN(row[Signal.Pcie]))
        {
            s.PcieReadings += sign;
        }

        s.SmSquares += sign * row[Signal.Sm] * row[Signal.Sm];
        _attribution.Accumulate(_share.AsSpan(slot * MaxProcesses, MaxProcesses), row, sign);
    }

    // Medians over busy readings, for quantities one odd reading must not swing: PCIe (a neighbour
    // loading its model, a checkpoint) and the integer share (a process that exits mid-interval leaves
    // its last kernels in the next reading). denominator -1: the raw signal, else a ratio per reading.
    private double MedianOverBusy(int numerator, int denominator)
    {
        Span<double> values = stackalloc double[_capacity];
        var n = 0;
        for (var i = 0; i < _count; i++)
        {
            var slot = Index(i);
            var row = _signals.AsSpan(slot * Signal.Count, Signal.Count);
            var v = denominator < 0 ? row[numerator] : row[denominator] > 0 ? row[numerator] / row[denominator] : double.NaN;
            if (_gpm[slot] && _busy[slot] && !double.IsNaN(v))
            {
                values[n++] = v;
            }
        }

        if (n == 0)
        {
            return double.NaN;
        }

        var sorted = values[..n];
        sorted.Sort();
        return n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }

    private static void Add(ref double sum, ref int n, double value, int sign)
    {
        if (!double.IsNaN(value))
        {
            sum += sign * value;
            n += sign;
        }
    }

    private static double Cv(int n, double sum, double squares)
    {
        if (n < 2 || sum <= 0)
        {
            return double.NaN;
        }

        var mean = sum / n;
        var variance = Math.Max(0, (squares / n) - (mean * mean));
        return Math.Sqrt(variance) / mean;
    }

    // Oldest to newest known value of a per-reading column (stride/offset pick a process's column),
    // over busy readings only: the one-off allocation before a job starts computing (a DAG, a model)
    // is not growth; a footprint that keeps growing while the GPU works is.
    private double Growth(double[] column, int stride, int offset)
    {
        double first = double.NaN, last = double.NaN;
        for (var i = 0; i < _count; i++)
        {
            var slot = Index(i);
            var v = column[(slot * stride) + offset];
            if (double.IsNaN(v) || !_busy[slot])
            {
                continue;
            }

            if (double.IsNaN(first))
            {
                first = v;
            }

            last = v;
        }

        return last - first;
    }

    private int Index(int i) => (_head + i) % _capacity;

    private sealed class RunningSums
    {
        public double[] Signal { get; } = new double[Features.Signal.Count];

        public int GpmReadings;
        public int BusyReadings;
        public int BusyGpm;
        public int PcieReadings;
        public double SmSquares;
        public int PowerReadings;
        public double Power;
        public double PowerSquares;
        public int UtilReadings;
        public double UtilGpu;
        public int UtilMemReadings;
        public double UtilMem;

        public void Clear()
        {
            Array.Clear(Signal);
            GpmReadings = BusyReadings = BusyGpm = PcieReadings = PowerReadings = UtilReadings = UtilMemReadings = 0;
            SmSquares = Power = PowerSquares = UtilGpu = UtilMem = 0;
        }
    }
}
