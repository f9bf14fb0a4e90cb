using GpuAudit.Core.Classification;
using GpuAudit.Core.Pipeline;

namespace GpuAudit.Core.Policy;

/// <summary>GPU-seconds diverted on one GPU for one job, added at one tick (<see cref="DivertedTime"/>).</summary>
public sealed record DivertedSeconds(int Gpu, string Uuid, string? Job, double Seconds);

/// <summary>
/// The one definition of "GPU-minutes diverted", shared by the journal, every report format, the
/// Prometheus counter and the dashboards (docs/policy.md):
/// <list type="number">
/// <item>Which work: at each tick, the share of a GPU's time whose class is diverted from its job's
/// purpose (<see cref="JobPurposes.Diverts"/>: hashing always; compute for training and inference
/// jobs; training for inference jobs). A GPU with one class counts whole; a <c>mixed</c> GPU is split
/// by its processes' SM shares (<see cref="ShareOf"/>).</item>
/// <item>When: only while the GPU has an open violation (not an allowed finding) of a rule that
/// diverts it (<see cref="PolicyRuleNames.Diverts"/>: <c>hash_compute</c>, <c>miner_identity</c>,
/// <c>diverted_compute</c>) for that job, from the start of its evidence: a violation that opens
/// counts the ticks since its start it was not yet counted for.</item>
/// <item>No double counting: one number per GPU and tick, however many rules and violations are
/// open on it.</item>
/// </list>
/// The policy engine computes it once per tick (<see cref="PolicyResult.Diverted"/>); the journal
/// stores it, the agent exports it as a counter, reports add it up.
/// </summary>
public sealed class DivertedTime
{
    private readonly double _backlogSeconds;
    private readonly Dictionary<(string Uuid, string? Job), Ledger> _ledgers = [];
    private readonly List<(string Uuid, string? Job)> _stale = [];

    /// <param name="backlogSeconds">How far back a violation's start may lie before the tick it opens (its evidence horizon).</param>
    public DivertedTime(double backlogSeconds)
    {
        _backlogSeconds = backlogSeconds;
    }

    /// <summary>
    /// The share (0-1) of a GPU's time at this tick that is diverted from a job with
    /// <paramref name="purpose"/>, given its latest verdicts.
    /// </summary>
    public static double ShareOf(Verdict? gpuVerdict, ReadOnlySpan<ProcessView> processes, JobPurpose purpose)
    {
        if (gpuVerdict is null)
        {
            return 0;
        }

        if (gpuVerdict.Class != WorkloadClass.Mixed)
        {
            return purpose.Diverts(gpuVerdict.Class) ? 1 : 0;
        }

        // Hash-like work on the GPU that no process verdict accounts for: the device counters are the evidence.
        if (gpuVerdict.Candidates.Count > 0)
        {
            return 1;
        }

        double diverted = 0, total = 0;
        int divertedCount = 0, counted = 0;
        foreach (var p in processes)
        {
            if (p.Verdict is not { } v)
            {
                continue;
            }

            var isDiverted = purpose.Diverts(v.Class);
            counted++;
            divertedCount += isDiverted ? 1 : 0;
            var share = (p.Usage.SmPct ?? 0) / 100.0;
            total += share;
            diverted += isDiverted ? share : 0;
        }

        return total > 0 ? diverted / total : counted > 0 ? (double)divertedCount / counted : 0;
    }

    /// <summary>
    /// Records this tick's diverted work of one GPU for one job (before knowing whether a violation
    /// covers it), then counts what a covering violation makes count: <paramref name="coveredFrom"/> is
    /// the earliest start of the job's open, not allowed, diverting violations on the GPU (null: none).
    /// Returns the GPU-seconds this tick adds.
    /// </summary>
    public double Add(string uuid, string? job, double time, double seconds, double? coveredFrom)
    {
        if (!_ledgers.TryGetValue((uuid, job), out var ledger))
        {
            if (seconds <= 0 && coveredFrom is null)
            {
                return 0;
            }

            ledger = new Ledger();
            _ledgers[(uuid, job)] = ledger;
        }

        ledger.LastTime = time;
        if (seconds > 0)
        {
            ledger.Entries.Enqueue((time, seconds));
        }

        // The queue holds only ticks not yet counted: counting empties it, so a covered GPU costs one
        // entry per tick, and an uncovered one keeps its last backlog's worth of ticks.
        var added = 0.0;
        if (coveredFrom is { } from)
        {
            foreach (var (t, s) in ledger.Entries)
            {
                added += t >= from ? s : 0;
            }

            ledger.Entries.Clear();
        }

        while (ledger.Entries.TryPeek(out var oldest) && oldest.Time < time - _backlogSeconds)
        {
            ledger.Entries.Dequeue();
        }

        return added;
    }

    /// <summary>Forgets GPU/job pairs not seen for longer than the backlog (the job ended).</summary>
    public void Prune(double time)
    {
        foreach (var (key, ledger) in _ledgers)
        {
            if (ledger.LastTime < time - _backlogSeconds)
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

    private sealed class Ledger
    {
        public Queue<(double Time, double Seconds)> Entries { get; } = new();

        public double LastTime { get; set; }
    }
}
