namespace GpuAudit.Core.Features;

/// <summary>
/// Splits a shared GPU's counters between its processes. Each busy reading says: device metric m(t)
/// = Σ_p s_p(t) · x_p, where s_p is process p's share of SM time (NVML per-process utilization) and
/// x_p is what p does to the pipes while it runs. A ridge-regularized least-squares fit over the
/// window recovers x_p; the ridge pulls each x_p toward its previous estimate, so a process that ran
/// alone earlier keeps its signature and a newcomer sharing every reading with it inherits the residual.
/// Sums are kept running (added on arrival, subtracted on eviction); the fit runs once per verdict.
/// </summary>
internal sealed class ProcessAttribution
{
    // A process "takes part" in a reading from this SM share.
    private const double ActiveShare = 0.02;

    private readonly int _k;
    private readonly double _ridge;
    private readonly int[] _pids;
    private readonly int[] _refs;
    private readonly double[] _gram;       // k×k Σ s_p s_q
    private readonly double[] _cross;      // k×F Σ s_p m
    private readonly double[] _shareSum;
    private readonly double[] _shareSquares;
    private readonly double[] _soloShare;
    private readonly int[] _busy;
    private readonly int[] _shared;        // busy readings in which another process was resident too
    private readonly double[] _estimate;   // k×F x_p from the last fit
    private readonly bool[] _hasEstimate;
    private int _readings;

    // Scratch for the fit.
    private readonly double[] _matrix;
    private readonly double[] _rhs;
    private readonly int[] _active;

    public ProcessAttribution(int maxProcesses, double ridge)
    {
        _k = maxProcesses;
        _ridge = ridge;
        _pids = new int[_k];
        _refs = new int[_k];
        _gram = new double[_k * _k];
        _cross = new double[_k * Signal.Count];
        _shareSum = new double[_k];
        _shareSquares = new double[_k];
        _soloShare = new double[_k];
        _busy = new int[_k];
        _shared = new int[_k];
        _estimate = new double[_k * Signal.Count];
        _hasEstimate = new bool[_k];
        _matrix = new double[_k * _k];
        _rhs = new double[_k];
        _active = new int[_k];
    }

    public int SlotOf(int pid)
    {
        for (var s = 0; s < _k; s++)
        {
            if (_refs[s] > 0 && _pids[s] == pid)
            {
                return s;
            }
        }

        return -1;
    }

    /// <summary>The slot of <paramref name="pid"/>, taking a free one if new; -1 when all are taken.</summary>
    public int Acquire(int pid)
    {
        var existing = SlotOf(pid);
        if (existing >= 0)
        {
            return existing;
        }

        for (var s = 0; s < _k; s++)
        {
            if (_refs[s] == 0)
            {
                ResetSlot(s, pid);
                return s;
            }
        }

        return -1;
    }

    /// <summary>Counts readings that name the slot; a slot with none is free again.</summary>
    public void Reference(int slot, int delta) => _refs[slot] += delta;

    public int ActivePids(Span<int> into)
    {
        var n = 0;
        for (var s = 0; s < _k && n < into.Length; s++)
        {
            if (_refs[s] > 0)
            {
                into[n++] = _pids[s];
            }
        }

        return n;
    }

    /// <summary>Adds (sign +1) or removes (-1) one busy reading's shares and signals.</summary>
    public void Accumulate(ReadOnlySpan<double> shares, ReadOnlySpan<double> row, int sign)
    {
        var known = 0;
        var solo = -1;
        for (var p = 0; p < _k; p++)
        {
            if (double.IsNaN(shares[p]))
            {
                continue;
            }

            known++;
            if (shares[p] >= ActiveShare)
            {
                solo = solo == -1 ? p : -2;
            }
        }

        if (known == 0)
        {
            return;
        }

        _readings += sign;
        for (var p = 0; p < _k; p++)
        {
            var sp = shares[p];
            if (double.IsNaN(sp))
            {
                continue;
            }

            _shareSum[p] += sign * sp;
            _shareSquares[p] += sign * sp * sp;
            if (sp >= ActiveShare)
            {
                _busy[p] += sign;
            }

            if (known > 1)
            {
                _shared[p] += sign;
            }

            if (p == solo)
            {
                _soloShare[p] += sign * sp;
            }

            for (var q = 0; q < _k; q++)
            {
                if (!double.IsNaN(shares[q]))
                {
                    _gram[(p * _k) + q] += sign * sp * shares[q];
                }
            }

            for (var f = 0; f < Signal.Count; f++)
            {
                var m = row[f];
                _cross[(p * Signal.Count) + f] += sign * sp * (double.IsNaN(m) ? 0 : m);
            }
        }
    }

    /// <summary>Solves (G + λ·mean(diag G)·I) x = c + λ·mean(diag G)·x_prior for every signal.</summary>
    public void Fit(ReadOnlySpan<double> deviceSignalSums, int deviceBusyReadings)
    {
        var n = 0;
        var trace = 0.0;
        for (var s = 0; s < _k; s++)
        {
            if (_refs[s] > 0 && _shareSum[s] > 1e-9)
            {
                _active[n++] = s;
                trace += _gram[(s * _k) + s];
            }
        }

        if (n == 0)
        {
            return;
        }

        var lambda = Math.Max(_ridge * trace / n, 1e-9);
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                _matrix[(i * n) + j] = _gram[(_active[i] * _k) + _active[j]] + (i == j ? lambda : 0);
            }
        }

        if (!Cholesky.Factor(_matrix.AsSpan(0, n * n), n))
        {
            return;
        }

        for (var f = 0; f < Signal.Count; f++)
        {
            var deviceMean = deviceBusyReadings > 0 ? deviceSignalSums[f] / deviceBusyReadings : 0;
            for (var i = 0; i < n; i++)
            {
                var s = _active[i];
                var prior = _hasEstimate[s] ? _estimate[(s * Signal.Count) + f] : deviceMean;
                _rhs[i] = _cross[(s * Signal.Count) + f] + (lambda * prior);
            }

            Cholesky.Solve(_matrix.AsSpan(0, n * n), n, _rhs.AsSpan(0, n));
            for (var i = 0; i < n; i++)
            {
                _estimate[(_active[i] * Signal.Count) + f] = Math.Max(0, _rhs[i]);
            }
        }

        for (var i = 0; i < n; i++)
        {
            _hasEstimate[_active[i]] = true;
        }
    }

    public WindowFeatures Features(int slot, in WindowFeatures device, double footprintGrowthMiB)
    {
        var busy = _busy[slot];
        if (!_hasEstimate[slot] || _shareSum[slot] <= 1e-9 || _readings <= 0)
        {
            return device with
            {
                BusyReadings = 0,
                BusyGpmReadings = 0,
                FootprintGrowthMiB = footprintGrowthMiB,
                SoloShare = 0,
                IntegerShare = double.NaN,
                TensorShare = double.NaN,
                ImmaShare = double.NaN,
                FpShare = double.NaN,
                Fp64Share = double.NaN,
                DramShare = double.NaN,
                OccupancyPct = double.NaN,
                PcieMiBps = double.NaN,
                SmActivityPct = 0,
                ActivityCv = double.NaN,
                IntegerShareMedian = double.NaN,
            };
        }

        var x = _estimate.AsSpan(slot * Signal.Count, Signal.Count);
        var sm = x[Signal.Sm];
        double Share(double v) => sm > 0 ? v / sm : double.NaN;
        var meanShare = _shareSum[slot] / _readings;
        var variance = Math.Max(0, (_shareSquares[slot] / _readings) - (meanShare * meanShare));
        return device with
        {
            BusyReadings = busy,
            BusyGpmReadings = busy,
            SmActivityPct = 100 * meanShare,
            IntegerShare = Share(x[Signal.Integer]),
            TensorShare = Share(x[Signal.Tensor]),
            ImmaShare = Share(x[Signal.Imma]),
            FpShare = Share(x[Signal.Fp16] + x[Signal.Fp32]),
            Fp64Share = Share(x[Signal.Fp64] + x[Signal.Dfma]),
            DramShare = Share(x[Signal.Dram]),
            OccupancyPct = sm > 0 ? Math.Min(100, 100 * x[Signal.Occupancy] / sm) : double.NaN,
            // NVML has no per-process PCIe counter: the device's traffic is this process's only when it was
            // alone on the GPU; with neighbours resident (even idle ones loading data) it is unattributable.
            PcieMiBps = _shared[slot] > 0 ? double.NaN : device.PcieMiBps,
            IntegerShareMedian = _shared[slot] > 0 ? double.NaN : device.IntegerShareMedian,
            ActivityCv = meanShare > 0 ? Math.Sqrt(variance) / meanShare : double.NaN,
            FootprintGrowthMiB = footprintGrowthMiB,
            SoloShare = _soloShare[slot] / _shareSum[slot],
        };
    }

    public void ClearSums()
    {
        Array.Clear(_gram);
        Array.Clear(_cross);
        Array.Clear(_shareSum);
        Array.Clear(_shareSquares);
        Array.Clear(_soloShare);
        Array.Clear(_busy);
        Array.Clear(_shared);
        _readings = 0;
    }

    public void Clear()
    {
        ClearSums();
        Array.Clear(_refs);
        Array.Clear(_hasEstimate);
    }

    private void ResetSlot(int s, int pid)
    {
        _pids[s] = pid;
        _hasEstimate[s] = false;
        _shareSum[s] = _shareSquares[s] = _soloShare[s] = 0;
        _busy[s] = 0;
        _shared[s] = 0;
        for (var q = 0; q < _k; q++)
        {
            _gram[(s * _k) + q] = 0;
            _gram[(q * _k) + s] = 0;
        }

        Array.Clear(_cross, s * Signal.Count, Signal.Count);
    }
}
