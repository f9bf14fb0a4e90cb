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
    private readonly Dictionary<(string Uuid, string? Job), Queue<(double Time, double Seconds)>> _ledgers = [];
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

            ledger = new Queue<(double, double)>();
            _ledgers[(uuid, job)] = ledger;
        }

        if (seconds > 0)
        {
            ledger.Enqueue((time, seconds));
        }

        while (ledger.TryPeek(out var oldest) && oldest.Time <= time - horizonSeconds)
        {
            ledger.Dequeue();
        }

        var sum = 0.0;
        foreach (var (_, s) in ledger)
        {
            sum += s;
        }

        return (sum, ledger.TryPeek(out var first) ? first.Time : time);
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
}
