using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Features;

/// <summary>
/// The sliding window of one GPU: a ring buffer of readings plus running sums over it, so adding a
/// reading and reading the features cost the same however wide the window is. Each reading keeps
/// its processes' SM shares, from which <see cref="ProcessAttribution"/> splits the device counters
/// between any number of processes when a verdict is due. Allocates only when a reading lists more
/// processes than any before it.
/// </summary>
public sealed class GpuWindow
{
    /// <summary>Processes of one reading kept for the split; a reading listing more keeps the first ones
    /// (a CUDA context costs hundreds of MiB, so a real GPU holds far fewer).</summary>
    public const int MaxProcessesPerReading = 1024;

    /// <summary>Unknowns of the per-process fit: the busiest processes one by one, the rest as one residual.</summary>
    public const int MaxFitTerms = ProcessAttribution.MaxTerms;

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
    private readonly double[] _seconds;
    private readonly ProcessShare[][] _procs;
    private readonly int[] _procCount;
    private readonly ReadingShares[] _shares;

    // Process arrays of evicted readings, for the next readings to fill. The ring has room for
    // 128 readings but a 10 s window at 1 Hz holds about 10: without handing arrays on, each of
    // the 128 slots would keep an array of its own as the head goes round (12 MB at 8 x 512).
    private readonly Stack<ProcessShare[]> _spareProcs = new();
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
        _seconds = new double[capacity];
        _procs = new ProcessShare[capacity][];
        _procCount = new int[capacity];
        _shares = new ReadingShares[capacity];
        for (var i = 0; i < capacity; i++)
        {
            _procs[i] = [];
        }

        _attribution = new ProcessAttribution(ridge);
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

        var previousTime = _count > 0 ? _time[Index(_count - 1)] : double.NaN;
        var slot = Index(_count);
        _count++;
        _time[slot] = sample.Time;
        _seconds[slot] = double.IsNaN(previousTime) ? 1 : Math.Clamp(sample.Time - previousTime, 0, MaxReadingSeconds);
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
            FootprintGrowthMiB = Growth(),
            SoloShare = 1,
        };
    }

    /// <summary>
    /// Fits every process's signature on the current window (least squares of the device counters on
    /// the processes' SM shares); call once per verdict, before <see cref="ProcessPids"/> and
    /// <see cref="TryProcessFeatures"/>.
    /// </summary>
    public void FitProcesses() => _attribution.Fit(this, _sums.Signal, _sums.BusyGpm);

    /// <summary>Pids of the processes seen in the window at the last fit, most SM time first.</summary>
    public int ProcessPids(List<int> into) => _attribution.Pids(into);

    /// <summary>The processes the last fit folded into its residual term (too many to fit one by one), most SM time first.</summary>
    public List<int> ResidualPids() => _attribution.ResidualPids();

    /// <summary>
    /// One process's features from the last <see cref="FitProcesses"/>, and whether the fit folded it
    /// into the residual term; false when the pid is not in the window.
    /// </summary>
    public bool TryProcessFeatures(int pid, in WindowFeatures device, out WindowFeatures features, out bool residual) =>
        _attribution.TryFeatures(pid, device, out features, out residual);

    /// <summary>Longest time one reading stands for (a stalled poller does not invent minutes of work).</summary>
    internal const double MaxReadingSeconds = 5;

    // Reading i of the window, oldest first: what the attribution and the hash-seconds account read.
    internal double TimeAt(int i) => _time[Index(i)];

    internal double SecondsAt(int i) => _seconds[Index(i)];

    internal bool IsBusy(int i) => _busy[Index(i)];

    internal bool IsGpm(int i) => _gpm[Index(i)];

    internal ReadOnlySpan<double> Row(int i) => _signals.AsSpan(Index(i) * Signal.Count, Signal.Count);

    internal ReadOnlySpan<ProcessShare> Procs(int i)
    {
        var slot = Index(i);
        return _procs[slot].AsSpan(0, _procCount[slot]);
    }

    /// <summary>How many of reading i's processes have a known share, and which one ran alone in it.</summary>
    internal ReadingShares SharesAt(int i) => _shares[Index(i)];

    /// <summary>SM activity of reading i in percent: GPM where usable, else NVML utilization.</summary>
    internal double ActivityPctAt(int i)
    {
        var slot = Index(i);
        return _gpm[slot] ? _signals[(slot * Signal.Count) + Signal.Sm] : double.IsNaN(_utilGpu[slot]) ? 0 : _utilGpu[slot];
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
        var procs = sample.ProcSpan;
        var n = Math.Min(procs.Length, MaxProcessesPerReading);
        if (_procs[slot].Length < n)
        {
            _procs[slot] = _spareProcs.TryPop(out var spare) && spare.Length >= n ? spare : new ProcessShare[Math.Max(n, 2 * _procs[slot].Length)];
        }

        _procCount[slot] = n;
        var into = _procs[slot];

        var anyShare = false;
        for (var i = 0; i < n; i++)
        {
            anyShare |= procs[i].SmPct.HasValue;
        }

        // A lone process owns all the activity even when NVML had no per-process sample for it.
        var fallback = !anyShare && n == 1 ? (double.IsNaN(deviceSm) ? (sample.UtilGpuPct ?? 0) : deviceSm) / 100.0 : double.NaN;
        for (var i = 0; i < n; i++)
        {
            var p = procs[i];
            into[i] = new ProcessShare
            {
                Pid = p.Pid,
                Share = anyShare ? (p.SmPct ?? 0) / 100.0 : fallback,
                MemMiB = p.UsedMemBytes is { } b ? b / 1048576.0 : double.NaN,
            };
        }

        _shares[slot] = ReadingShares.Of(into.AsSpan(0, n));
    }

    private void Evict()
    {
        Accumulate(_head, -1);
        if (_procs[_head].Length > 0)
        {
            _spareProcs.Push(_procs[_head]);
            _procs[_head] = [];
            _procCount[_head] = 0;
        }

        _head = (_head + 1) % _capacity;
        _count--;
    }

    private void Resync()
    {
        _sinceResync = 0;
        _sums.Clear();
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
            var v = Signal.Value(row, numerator, denominator);
            if (_gpm[slot] && _busy[slot] && !double.IsNaN(v))
            {
                values[n++] = v;
            }
        }

        return Signal.MedianInPlace(values[..n]);
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

    // Oldest to newest known memory footprint over busy readings only: the one-off allocation before a
    // job starts computing (a DAG, a model) is not growth; a footprint that keeps growing while the GPU works is.
    private double Growth()
    {
        double first = double.NaN, last = double.NaN;
        for (var i = 0; i < _count; i++)
        {
            var slot = Index(i);
            var v = _memUsed[slot];
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
