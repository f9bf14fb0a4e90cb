namespace GpuAudit.Core.Policy;

/// <summary>
/// <c>hash_compute</c>'s evidence budget: GPU-seconds of hash-like work per GPU and job over a
/// horizon (default 8 s in 10 minutes), from the classifier's monotonic hash-seconds total. A
/// workload that keeps every single stretch of evidence short (bursts, pid churn, many processes)
/// still spends GPU time hashing, and that time adds up here.
/// </summary>
internal sealed class HashBudget(double horizonSeconds)
{
    private readonly Dictionary<string, double> _lastTotal = [];
    private readonly Dictionary<(string Uuid, string? Job), Ledger> _ledgers = [];
    private readonly List<(string Uuid, string? Job)> _stale = [];

    /// <summary>Hash-seconds the GPU's total grew by since the last call for this GPU (a restarted classifier starts again from 0).</summary>
    public double Increment(string uuid, double total)
    {
        var last = _lastTotal.GetValueOrDefault(uuid);
        _lastTotal[uuid] = total;
        return total >= last ? total - last : total;
    }

    /// <summary>Adds <paramref name="seconds"/> for the GPU and job; returns the sum over the horizon and when it began.</summary>
    public (double Seconds, double Since) Add(string uuid, string? job, double time, double seconds)
    {
        if (!_ledgers.TryGetValue((uuid, job), out var ledger))
        {
            if (seconds <= 0)
            {
                return (0, time);
            }

            ledger = new Ledger();
            _ledgers[(uuid, job)] = ledger;
        }

        if (seconds > 0)
        {
            ledger.Add(time, seconds);
        }

        ledger.DropUntil(time - horizonSeconds);
        return (ledger.Sum(), ledger.Count > 0 ? ledger.OldestTime : time);
    }

    /// <summary>Forgets GPU/job pairs with nothing left in the horizon.</summary>
    public void Prune()
    {
        foreach (var (key, ledger) in _ledgers)
        {
            if (ledger.Count == 0)
            {
                _stale.Add(key);
            }
        }

        foreach (var key in _stale)
        {
            _ledgers.Remove(key);
        }

        _stale.Clear();
    }

    /// <summary>
    /// One GPU and job's entries over the horizon, oldest first, in a ring of two arrays: summed
    /// every poll (up to one entry a second for the horizon) by index, oldest to newest, the order
    /// a queue's enumerator gave, so the sum rounds as it did.
    /// </summary>
    private sealed class Ledger
    {
        private double[] _times = new double[16];
        private double[] _seconds = new double[16];
        private int _head;

        public int Count { get; private set; }

        public double OldestTime => _times[_head];

        public void Add(double time, double seconds)
        {
            if (Count == _times.Length)
            {
                Grow();
            }

            var at = (_head + Count) % _times.Length;
            _times[at] = time;
            _seconds[at] = seconds;
            Count++;
        }

        /// <summary>Drops the entries at or before <paramref name="cutoff"/>.</summary>
        public void DropUntil(double cutoff)
        {
            while (Count > 0 && _times[_head] <= cutoff)
            {
                _head = (_head + 1) % _times.Length;
                Count--;
            }
        }

        public double Sum()
        {
            var sum = 0.0;
            var first = Math.Min(Count, _times.Length - _head);
            foreach (var s in _seconds.AsSpan(_head, first))
            {
                sum += s;
            }

            foreach (var s in _seconds.AsSpan(0, Count - first))
            {
                sum += s;
            }

            return sum;
        }

        private void Grow()
        {
            var times = new double[2 * _times.Length];
            var seconds = new double[2 * _seconds.Length];
            var first = _times.Length - _head;
            _times.AsSpan(_head, first).CopyTo(times);
            _times.AsSpan(0, _head).CopyTo(times.AsSpan(first));
            _seconds.AsSpan(_head, first).CopyTo(seconds);
            _seconds.AsSpan(0, _head).CopyTo(seconds.AsSpan(first));
            _times = times;
            _seconds = seconds;
            _head = 0;
        }
    }
}
