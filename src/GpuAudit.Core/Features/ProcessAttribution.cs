using System.Runtime.InteropServices;

namespace GpuAudit.Core.Features;

/// <summary>
/// Splits a shared GPU's counters between its processes, whatever their number. Each busy reading
/// says: device metric m(t) = Σ_p s_p(t) · x_p, where s_p is process p's share of SM time (NVML
/// per-process utilization) and x_p is what p does to the pipes while it runs. A ridge-regularized
/// least-squares fit over the window recovers x_p; the ridge pulls each x_p toward its previous
/// estimate, so a process that ran alone earlier keeps its signature and a newcomer sharing every
/// reading with it inherits the residual.
/// <para>
/// The fit has at most <see cref="MaxTerms"/> unknowns: when more processes are in the window, the
/// <c>MaxTerms - 1</c> that hold the most SM time get a term each and the others are folded into one
/// residual term (their summed share). A residual member's verdict is the residual's, and says that
/// it could not be separated from the other members. The fit runs once per verdict over the
/// window's readings: O(readings × (processes + terms²)), no allocation once the pids are known.
/// </para>
/// </summary>
internal sealed class ProcessAttribution
{
    /// <summary>Unknowns of the least-squares fit: seven own terms and one residual.</summary>
    public const int MaxTerms = 8;

    private const int Residual = MaxTerms - 1;

    private readonly double _ridge;

    // Each pid's statistics live in a slot; _slotOf finds a pid's slot. Freed slots are reused
    // last-freed first, as Dictionary reuses its entries, so slot order is the order a
    // Dictionary<int, PidStats> would enumerate (the verdicts' order depends on it).
    private readonly Dictionary<int, int> _slotOf = [];
    private readonly Stack<int> _freeSlots = new();
    private PidStats[] _slots = new PidStats[16];
    private int _slotCount;

    // The slot of each process of each non-empty reading, in window order: Gather looks each up
    // once (usually not even that: the same pid sits at the same place in the reading before),
    // its second pass and Accumulate read it from here.
    private int[] _slotAt = new int[256];
    // Each slot's estimate of what its process does to the pipes at full share (null until a fit gave
    // it a term of its own): the ridge's prior at the next fit.
    private double[]?[] _estimateAt = new double[16][];
    private readonly List<RankedPid> _ranked = [];
    private readonly double[] _gram = new double[MaxTerms * MaxTerms];
    private readonly double[] _cross = new double[MaxTerms * Signal.Count];
    private readonly double[] _matrix = new double[MaxTerms * MaxTerms];
    private readonly double[] _solution = new double[MaxTerms * Signal.Count];
    private readonly double[] _residualEstimate = new double[Signal.Count];
    private readonly int[] _termSlot = new int[MaxTerms];
    private readonly double[]?[] _priors = new double[MaxTerms][];
    private bool _hasResidualEstimate;
    private int _terms;
    private int _residualMembers;
    private int _readings;

    public ProcessAttribution(double ridge)
    {
        _ridge = ridge;
    }

    /// <summary>Pids listed in any reading of the window at the last fit, by SM time (most first), then pid.</summary>
    public int Pids(List<int> into)
    {
        into.Clear();
        foreach (var ranked in _ranked)
        {
            into.Add(ranked.Pid);
        }

        for (var slot = 0; slot < _slotCount; slot++)
        {
            if (_slots[slot].InUse && _slots[slot].Term == NoTerm)
            {
                into.Add(_slots[slot].Pid);
            }
        }

        return into.Count;
    }

    /// <summary>The processes the last fit folded into the residual term, most SM time first (empty when none was).</summary>
    public List<int> ResidualPids()
    {
        if (_residualMembers == 0)
        {
            return [];
        }

        var residual = new List<int>(_residualMembers);
        for (var r = Residual; r < _ranked.Count; r++)
        {
            residual.Add(_ranked[r].Pid);
        }

        return residual;
    }

    /// <summary>
    /// Gathers every process's statistics over the window's readings and fits the terms; call once
    /// per verdict, before <see cref="TryFeatures"/>.
    /// </summary>
    public void Fit(GpuWindow window, ReadOnlySpan<double> deviceSignalSums, int deviceBusyReadings)
    {
        Gather(window);
        ChooseTerms();
        if (_terms == 0)
        {
            return;
        }

        Accumulate(window);
        Solve(deviceSignalSums, deviceBusyReadings);
    }

    /// <summary>
    /// One process's features from the last <see cref="Fit"/>, and whether the fit folded it into the
    /// residual term; false when the pid is not in the window. Written straight into the caller's
    /// <paramref name="features"/>: a verdict reads this for every process, and building a copy of
    /// the device's features first, then a nullable copy of that, moved 500 bytes per process.
    /// </summary>
    public bool TryFeatures(int pid, in WindowFeatures device, out WindowFeatures features, out bool residual)
    {
        if (!_slotOf.TryGetValue(pid, out var slot))
        {
            features = default;
            residual = false;
            return false;
        }

        ref readonly var st = ref _slots[slot];
        residual = st.Term == Residual && _residualMembers > 0;
        var growth = st.LastMem - st.FirstMem;
        var x = st.Term switch
        {
            NoTerm => null,
            Residual when _residualMembers > 0 => _residualEstimate,
            _ => _estimateAt[slot],
        };
        if (x is null || st.ShareSum <= 1e-9 || _readings <= 0)
        {
            features = new WindowFeatures
            {
                Readings = device.Readings,
                GpmReadings = device.GpmReadings,
                BusyReadings = 0,
                BusyGpmReadings = 0,
                SmActivityPct = 0,
                IntegerShare = double.NaN,
                IntegerShareMedian = double.NaN,
                TensorShare = double.NaN,
                ImmaShare = double.NaN,
                FpShare = double.NaN,
                Fp64Share = double.NaN,
                DramShare = double.NaN,
                OccupancyPct = double.NaN,
                PcieMiBps = double.NaN,
                ActivityCv = double.NaN,
                PowerW = device.PowerW,
                PowerCv = device.PowerCv,
                UtilGpuPct = device.UtilGpuPct,
                UtilMemPct = device.UtilMemPct,
                FootprintGrowthMiB = growth,
                SoloShare = 0,
            };
            return true;
        }

        var sm = x[Signal.Sm];
        var meanShare = st.ShareSum / _readings;
        var variance = Math.Max(0, (st.Squares / _readings) - (meanShare * meanShare));
        var own = st.Term != Residual || _residualMembers == 0;
        features = new WindowFeatures
        {
            Readings = device.Readings,
            GpmReadings = device.GpmReadings,
            BusyReadings = st.Busy,
            BusyGpmReadings = st.Busy,
            SmActivityPct = 100 * meanShare,
            IntegerShare = Share(x[Signal.Integer], sm),
            IntegerShareMedian = st.Shared > 0 ? double.NaN : device.IntegerShareMedian,
            TensorShare = Share(x[Signal.Tensor], sm),
            ImmaShare = Share(x[Signal.Imma], sm),
            FpShare = Share(x[Signal.Fp16] + x[Signal.Fp32], sm),
            Fp64Share = Share(x[Signal.Fp64] + x[Signal.Dfma], sm),
            DramShare = Share(x[Signal.Dram], sm),
            OccupancyPct = sm > 0 ? Math.Min(100, 100 * x[Signal.Occupancy] / sm) : double.NaN,
            // NVML has no per-process PCIe counter: the device's traffic is this process's when it was alone
            // on the GPU; with neighbours resident, the split's estimate of what it moves at full share (the
            // traffic splits with the shares like every other counter: a process that moves no data gets
            // none of it). No device counter: unknown.
            PcieMiBps = st.Shared == 0 ? device.PcieMiBps : double.IsNaN(device.PcieMiBps) ? double.NaN : x[Signal.Pcie],
            ActivityCv = meanShare > 0 ? Math.Sqrt(variance) / meanShare : double.NaN,
            PowerW = device.PowerW,
            PowerCv = device.PowerCv,
            UtilGpuPct = device.UtilGpuPct,
            UtilMemPct = device.UtilMemPct,
            FootprintGrowthMiB = growth,
            // A residual member's numbers are the group's, never its own.
            SoloShare = own ? st.Solo / st.ShareSum : 0,
        };
        return true;
    }

    private static double Share(double v, double sm) => sm > 0 ? v / sm : double.NaN;

    public void Clear()
    {
        _slotOf.Clear();
        _freeSlots.Clear();
        Array.Clear(_slots, 0, _slotCount);
        Array.Clear(_estimateAt, 0, _slotCount);
        _slotCount = 0;
        _ranked.Clear();
        _hasResidualEstimate = false;
        _terms = 0;
        _residualMembers = 0;
        _readings = 0;
    }

    private const int NoTerm = -1;

    private void Gather(GpuWindow window)
    {
        for (var slot = 0; slot < _slotCount; slot++)
        {
            // Reset in place: a pid still present is refilled below, the others are freed after.
            ref var st = ref _slots[slot];
            if (st.InUse)
            {
                st = new PidStats { Pid = st.Pid, InUse = true };
            }
        }

        // One pass per reading: each process's slot (usually where the reading before had it), its
        // first and last footprint, and, on a reading with GPM and a known share, its share's sums.
        _readings = 0;
        var at = 0;
        int previousAt = 0, previousLength = 0;
        for (var i = 0; i < window.Count; i++)
        {
            var procs = window.Procs(i);
            if (procs.Length == 0)
            {
                continue;
            }

            if (_slotAt.Length < at + procs.Length)
            {
                Array.Resize(ref _slotAt, Math.Max(at + procs.Length, 2 * _slotAt.Length));
            }

            var busy = window.IsBusy(i);
            var shares = window.SharesAt(i);
            var counted = busy && window.IsGpm(i) && shares.Known > 0;
            var shared = shares.Known > 1 ? 1 : 0;
            _readings += counted ? 1 : 0;

            // The arrays in locals (SlotOf may grow _slots: read again after it), the reading before's
            // slots and this one's as spans: the loop runs for every process of every reading of the
            // window at every verdict.
            var slots = _slots;
            var before = _slotAt.AsSpan(previousAt, previousLength);
            var slotAt = _slotAt.AsSpan(at, procs.Length);
            for (var p = 0; p < procs.Length; p++)
            {
                ref readonly var proc = ref procs[p];
                int slot;
                if (p < before.Length && slots[before[p]].Pid == proc.Pid)
                {
                    slot = before[p];
                }
                else
                {
                    slot = SlotOf(proc.Pid);
                    slots = _slots;
                }

                slotAt[p] = slot;
                ref var st = ref slots[slot];
                if (!st.Present)
                {
                    st = new PidStats { Pid = st.Pid, InUse = true, Present = true, Term = NoTerm, FirstMem = double.NaN, LastMem = double.NaN };
                }

                var mem = proc.MemMiB;
                if (busy && !double.IsNaN(mem))
                {
                    if (double.IsNaN(st.FirstMem))
                    {
                        st.FirstMem = mem;
                    }

                    st.LastMem = mem;
                }

                var share = proc.Share;
                if (counted && !double.IsNaN(share))
                {
                    st.ShareSum += share;
                    st.Squares += share * share;
                    st.Busy += share >= ReadingShares.ActiveShare ? 1 : 0;
                    st.Shared += shared;
                    st.Solo += p == shares.Solo ? share : 0;
                }
            }

            previousAt = at;
            previousLength = procs.Length;
            at += procs.Length;
        }

        for (var slot = 0; slot < _slotCount; slot++)
        {
            ref var st = ref _slots[slot];
            if (st.InUse && !st.Present)
            {
                _slotOf.Remove(st.Pid);
                _estimateAt[slot] = null;
                st = default;
                _freeSlots.Push(slot);
            }
        }
    }

    /// <summary>The pid's slot, taken (last freed first) when it has none.</summary>
    private int SlotOf(int pid)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_slotOf, pid, out var known);
        if (known)
        {
            return slot;
        }

        if (!_freeSlots.TryPop(out slot))
        {
            if (_slotCount == _slots.Length)
            {
                Array.Resize(ref _slots, 2 * _slots.Length);
                Array.Resize(ref _estimateAt, _slots.Length);
            }

            slot = _slotCount++;
        }

        _slots[slot] = new PidStats { Pid = pid, InUse = true };
        return slot;
    }

    // The processes holding the most SM time get their own terms; with more than MaxTerms, the rest share
    // the residual term. Ranked by SM time, then pid, so the choice is the same on every replay.
    private void ChooseTerms()
    {
        _ranked.Clear();
        for (var slot = 0; slot < _slotCount; slot++)
        {
            if (_slots[slot].InUse && _slots[slot].ShareSum > 1e-9)
            {
                _ranked.Add(new RankedPid(_slots[slot].ShareSum, _slots[slot].Pid, slot));
            }
        }

        // The SM time is copied beside the pid: comparing looks nothing up. On a steady GPU the
        // slots keep their order and the list is often in order already, which one pass (stopping
        // at the first pair out of order) says; on the simulated node it rarely is, and the sort
        // runs. The order is total (pids are unique), so every correct sort gives the same list.
        var ranked = CollectionsMarshal.AsSpan(_ranked);
        if (!InOrder(ranked))
        {
            Sort(ranked);
        }

        _residualMembers = _ranked.Count > MaxTerms ? _ranked.Count - Residual : 0;
        _terms = Math.Min(_ranked.Count, MaxTerms);
        for (var r = 0; r < _ranked.Count; r++)
        {
            ref var st = ref _slots[_ranked[r].Slot];
            st.Term = _residualMembers > 0 && r >= Residual ? Residual : r;
            if (r < MaxTerms)
            {
                _termSlot[st.Term] = _ranked[r].Slot;
            }
        }

        if (_residualMembers == 0)
        {
            _hasResidualEstimate = false;
        }
    }

    private void Accumulate(GpuWindow window)
    {
        Array.Clear(_gram);
        Array.Clear(_cross);
        Span<double> terms = stackalloc double[MaxTerms];
        Span<double> row = stackalloc double[Signal.Count];
        var slots = _slots;
        var at = 0;
        for (var i = 0; i < window.Count; i++)
        {
            var procs = window.Procs(i);
            var first = at;
            at += procs.Length; // the readings Gather gave slots to, in the same order
            if (procs.Length == 0 || !window.IsBusy(i) || !window.IsGpm(i))
            {
                continue;
            }

            terms.Clear();
            var any = false;
            var slotAt = _slotAt.AsSpan(first, procs.Length);
            for (var p = 0; p < procs.Length; p++)
            {
                var share = procs[p].Share;
                if (!double.IsNaN(share) && slots[slotAt[p]].Term is var term and >= 0)
                {
                    terms[term] += share;
                    any = true;
                }
            }

            if (!any)
            {
                continue;
            }

            // A missing counter counts as 0, read once per reading rather than once per term.
            var readings = window.Row(i);
            for (var f = 0; f < row.Length; f++)
            {
                row[f] = double.IsNaN(readings[f]) ? 0 : readings[f];
            }

            for (var a = 0; a < _terms; a++)
            {
                var ta = terms[a];
                if (ta == 0)
                {
                    continue;
                }

                var gram = _gram.AsSpan(a * MaxTerms, _terms);
                for (var b = 0; b < gram.Length; b++)
                {
                    gram[b] += ta * terms[b];
                }

                var cross = _cross.AsSpan(a * Signal.Count, Signal.Count);
                for (var f = 0; f < cross.Length; f++)
                {
                    cross[f] += ta * row[f];
                }
            }
        }
    }

    /// <summary>Solves (G + λ·mean(diag G)·I) x = c + λ·mean(diag G)·x_prior for every signal.</summary>
    private void Solve(ReadOnlySpan<double> deviceSignalSums, int deviceBusyReadings)
    {
        var n = _terms;
        var trace = 0.0;
        for (var a = 0; a < n; a++)
        {
            trace += _gram[(a * MaxTerms) + a];
        }

        var lambda = Math.Max(_ridge * trace / n, 1e-9);
        var matrix = _matrix.AsSpan(0, n * n);
        for (var a = 0; a < n; a++)
        {
            for (var b = 0; b < n; b++)
            {
                matrix[(a * n) + b] = _gram[(a * MaxTerms) + b] + (a == b ? lambda : 0);
            }
        }

        if (!Cholesky.Factor(matrix, n))
        {
            return;
        }

        var priors = _priors;
        for (var a = 0; a < n; a++)
        {
            priors[a] = a == Residual && _residualMembers > 0
                ? (_hasResidualEstimate ? _residualEstimate : null)
                : _estimateAt[_termSlot[a]];
        }

        // A term without an estimate of its own is pulled toward the device's mean reading.
        Span<double> deviceMeans = stackalloc double[Signal.Count];
        for (var f = 0; f < Signal.Count; f++)
        {
            deviceMeans[f] = deviceBusyReadings > 0 ? deviceSignalSums[f] / deviceBusyReadings : 0;
        }

        // One right-hand side per signal, all solved in one pass: row a is term a, column f signal f.
        var solution = _solution.AsSpan(0, n * Signal.Count);
        for (var a = 0; a < n; a++)
        {
            var prior = priors[a];
            for (var f = 0; f < Signal.Count; f++)
            {
                solution[(a * Signal.Count) + f] = _cross[(a * Signal.Count) + f] + (lambda * (prior?[f] ?? deviceMeans[f]));
            }
        }

        Cholesky.Solve(matrix, n, solution, Signal.Count);
        for (var i = 0; i < solution.Length; i++)
        {
            solution[i] = Math.Max(0, solution[i]);
        }

        for (var a = 0; a < n; a++)
        {
            double[] target;
            if (a == Residual && _residualMembers > 0)
            {
                target = _residualEstimate;
                _hasResidualEstimate = true;
            }
            else
            {
                target = _estimateAt[_termSlot[a]] ??= new double[Signal.Count];
            }

            solution.Slice(a * Signal.Count, Signal.Count).CopyTo(target);
        }
    }

    private struct PidStats
    {
        public int Pid;
        public bool InUse;
        public bool Present;
        public int Term;
        public double ShareSum;
        public double Squares;
        public double Solo;
        public int Busy;
        public int Shared;
        public double FirstMem;
        public double LastMem;
    }

    /// <summary>A process in the ranking; ordered by most SM time first, then pid: the same choice on every replay.</summary>
    private readonly record struct RankedPid(double ShareSum, int Pid, int Slot) : IComparable<RankedPid>
    {
        public int CompareTo(RankedPid other)
        {
            var c = other.ShareSum.CompareTo(ShareSum);
            return c != 0 ? c : Pid.CompareTo(other.Pid);
        }
    }

    // Up to this many processes, an insertion sort with the comparison inlined: the library's sort
    // compares through an interface call (NativeAOT's shared sort helper) on every step, and at 32
    // processes per GPU took 4.3% of the flat-out CPU samples of 8x32 against 3.0% for this one.
    // Beyond it, the library's O(n log n) sort: a node with hundreds of processes per GPU.
    private const int InsertionSortMax = 64;

    private static void Sort(Span<RankedPid> ranked)
    {
        if (ranked.Length > InsertionSortMax)
        {
            ranked.Sort();
            return;
        }

        for (var i = 1; i < ranked.Length; i++)
        {
            var item = ranked[i];
            var j = i - 1;
            while (j >= 0 && ranked[j].CompareTo(item) > 0)
            {
                ranked[j + 1] = ranked[j];
                j--;
            }

            ranked[j + 1] = item;
        }
    }

    private static bool InOrder(ReadOnlySpan<RankedPid> ranked)
    {
        for (var i = 1; i < ranked.Length; i++)
        {
            if (ranked[i - 1].CompareTo(ranked[i]) > 0)
            {
                return false;
            }
        }

        return true;
    }
}
