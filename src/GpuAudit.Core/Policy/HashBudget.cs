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
    /// One GPU and job's entries over the horizon, oldest first, in a ring: summed
    /// every poll (up to one entry a second for the horizon) by index, oldest to newest, the order
    /// a queue's enumerator gave, so the sum rounds as it did.
    /// </summary>
    private sealed class Ledger
    {
        private (double Time, double Seconds)[] _entries = new (double, double)[16];
        private int _head;

        public int Count { get; private set; }

        public double OldestTime => _entries[_head].Time;

        public void Add(double time, double seconds)
        {
            if (Count == _entries.Length)
            {
                // Doubled, oldest first at index 0.
                var entries = new (double, double)[2 * _entries.Length];
                _entries.AsSpan(_head).CopyTo(entries);
                _entries.AsSpan(0, _head).CopyTo(entries.AsSpan(_entries.Length - _head));
                _entries = entries;
                _head = 0;
            }

            _entries[(_head + Count) % _entries.Length] = (time, seconds);
            Count++;
        }

        /// <summary>Drops the entries at or before <paramref name="cutoff"/>.</summary>
        public void DropUntil(double cutoff)
        {
            while (Count > 0 && _entries[_head].Time <= cutoff)
            {
                _head = (_head + 1) % _entries.Length;
                Count--;
            }
        }

        public double Sum()
        {
            var sum = 0.0;
            var first = Math.Min(Count, _entries.Length - _head);
            foreach (var (_, seconds) in _entries.AsSpan(_head, first))
            {
                sum += seconds;
            }

            foreach (var (_, seconds) in _entries.AsSpan(0, Count - first))
            {
                sum += seconds;
            }

            return sum;
        }
    }
}
