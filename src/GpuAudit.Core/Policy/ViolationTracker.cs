namespace GpuAudit.Core.Policy;

/// <summary>
/// What identifies a violation: the rule, the GPU, the job (from trusted sources only) and the
/// allowance its evidence matched (-1: none). Never the pid: a workload that changes pids every
/// second accumulates evidence like one that does not, and every pid is listed on the violation.
/// </summary>
internal readonly record struct ViolationKey(PolicyRule Rule, string Uuid, string? Job, int Allowance);

/// <summary>
/// Looks trackers up (once per observation, two per process of a miner spread over many processes)
/// without hashing the whole uuid and job id; equality is the key's own (ordinal strings).
/// </summary>
internal sealed class ViolationKeyComparer : IEqualityComparer<ViolationKey>
{
    public static readonly ViolationKeyComparer Instance = new();

    public bool Equals(ViolationKey x, ViolationKey y) => x == y;

    public int GetHashCode(ViolationKey key) => HashCode.Combine(key.Rule, Samples.GpuUuidComparer.Tail(key.Uuid), key.Job?.Length ?? -1, key.Allowance);
}

/// <summary>
/// The hysteresis of one <see cref="ViolationKey"/>: evidence seen tick by tick, the pids and evidence
/// lines it came with, and whether the rule's condition to open holds (docs/policy.md):
/// <list type="bullet">
/// <item>most rules: evidence has lasted the open-after time, gaps shorter than the close-after time
/// not breaking it (or an evidence budget was reached: <see cref="Observe"/> with immediate);</item>
/// <item><c>idle_allocation</c>: the GPU was idle for at least
/// <see cref="AuditPolicy.IdleAllocationShare"/> of the last open-after time;</item>
/// <item><c>diverted_compute</c>: diverted GPU-seconds within the last twice the open-after time
/// reach the open-after time.</item>
/// </list>
/// </summary>
internal sealed class ViolationTracker(ViolationKey key, int gpu, Allowance? allowance, double since)
{
    private const int MaxEvidenceLines = 8;
    private const int MaxPids = 64;

    /// <summary>Run-context entries kept per violation: a rotating workload's runs, without letting it grow the record.</summary>
    public const int MaxContext = 16;

    private readonly Queue<(double Time, double Seconds)> _ledger = new();
    private double _ledgerSum;
    private double _tickWeight;
    private bool _tickFresh;
    private bool _seenThisTick;

    public ViolationKey Key { get; } = key;

    public int Gpu { get; } = gpu;

    public Allowance? Allowance { get; } = allowance;

    /// <summary>First tick with evidence (the violation's start).</summary>
    public double Since { get; private set; } = since;

    /// <summary>Last tick with fresh evidence (the violation's end once it closes).</summary>
    public double LastSeen { get; private set; } = since;

    /// <summary>Last tick with any evidence, fresh or a budget that still holds: what keeps it open.</summary>
    public double LastAlive { get; private set; } = since;

    public string? User { get; private set; }

    public string? Executable { get; private set; }

    public List<string> Evidence { get; } = [];

    /// <summary>Pids whose own evidence fed this tracker, then the candidates GPU-level evidence named (up to 64).</summary>
    public List<int> Pids { get; } = [];

    /// <summary>Distinct run-context entries of the processes that fed it (at most <see cref="MaxContext"/>).</summary>
    public List<string> Context { get; } = [];

    private int _ownPids;

    /// <summary>GPU-seconds of this tracker's own diverted work (evidence seconds × the share of the work it is about).</summary>
    public double DivertedSeconds { get; private set; }

    /// <summary>Hashing was among the evidence (a <c>diverted_compute</c> violation is then critical).</summary>
    public bool SawHash { get; private set; }

    public bool Immediate { get; private set; }

    public Violation? Open { get; set; }

    public bool SeenThisTick => _seenThisTick;

    /// <summary>One observation of this tick. Evidence lines are built only while the tracker still collects them.</summary>
    public void Observe(in Observation o)
    {
        if (!o.Fresh && !Immediate)
        {
            // A budget that still holds without new work keeps open only what the budget opened: a
            // violation of continuous evidence closes its close-after time after the work stops.
            return;
        }

        _seenThisTick = true;
        _tickFresh |= o.Fresh;
        _tickWeight += o.Weight;
        SawHash |= o.Hash;
        User ??= o.User;
        Executable ??= o.Executable;
        if (o.Immediate && Open is null)
        {
            // The budget opens it (a violation already open by its own evidence stays that kind).
            Immediate = true;
            Since = Math.Min(Since, o.EvidenceSince);
        }

        var context = o.Context;
        for (var i = 0; i < context.Count; i++)
        {
            if (Context.Count < MaxContext && !Context.Contains(context[i]))
            {
                Context.Add(context[i]);
            }
        }

        if (o.Process is { } process)
        {
            AddPid(process.Pid, own: true);
        }

        var pids = o.Pids;
        for (var i = 0; i < pids.Count; i++)
        {
            AddPid(pids[i], own: false);
        }

        if (Open is not null || Evidence.Count >= MaxEvidenceLines)
        {
            return;
        }

        var lines = o.Lines();
        for (var i = 0; i < lines.Count; i++)
        {
            if (Evidence.Count < MaxEvidenceLines && !Evidence.Contains(lines[i]))
            {
                Evidence.Add(lines[i]);
            }
        }
    }

    /// <summary>Own pids first (in the order their evidence came), then candidates, up to <see cref="MaxPids"/>.</summary>
    private void AddPid(int pid, bool own)
    {
        var at = Pids.IndexOf(pid);
        if (own && at >= _ownPids)
        {
            // A candidate whose own evidence now shows it moves ahead of the mere candidates.
            Pids.RemoveAt(at);
            Pids.Insert(_ownPids++, pid);
        }
        else if (at < 0 && Pids.Count < MaxPids)
        {
            Pids.Insert(own ? _ownPids++ : Pids.Count, pid);
        }
    }

    /// <summary>Closes the tick: <paramref name="seconds"/> is the time since the previous tick.</summary>
    public void EndTick(double time, double seconds, double horizon)
    {
        if (_seenThisTick)
        {
            var weight = Math.Min(1, _tickWeight);
            LastAlive = time;
            if (_tickFresh)
            {
                LastSeen = time;
                DivertedSeconds += seconds * weight;
                _ledger.Enqueue((time, seconds * weight));
                _ledgerSum += seconds * weight;
            }
        }

        while (_ledger.TryPeek(out var oldest) && oldest.Time <= time - horizon)
        {
            _ledgerSum -= _ledger.Dequeue().Seconds;
        }

        _seenThisTick = false;
        _tickFresh = false;
        _tickWeight = 0;
    }

    /// <summary>Whether the rule's condition to open holds at <paramref name="time"/>.</summary>
    public bool ShouldOpen(double time, RuleSettings settings) => Key.Rule switch
    {
        PolicyRule.IdleAllocation => time - Since >= settings.OpenAfterSeconds
            && _ledgerSum >= (AuditPolicy.IdleAllocationShare * settings.OpenAfterSeconds) - 1e-9,
        PolicyRule.DivertedCompute => _ledgerSum >= settings.OpenAfterSeconds - 1e-9,
        _ => Immediate || LastSeen - Since >= settings.OpenAfterSeconds,
    };

    /// <summary>How far back this rule's evidence ledger must reach.</summary>
    public static double HorizonOf(PolicyRule rule, RuleSettings settings) => rule switch
    {
        PolicyRule.IdleAllocation => settings.OpenAfterSeconds,
        PolicyRule.DivertedCompute => 2 * settings.OpenAfterSeconds,
        _ => 0,
    };
}

/// <summary>
/// One piece of evidence for one rule at one tick: a value, made and read within the tick, so the
/// engine allocates nothing for it (a miner spread over many processes gives one per process).
/// <see cref="Process"/> is set for a process's own evidence: its pid and evidence lines come from
/// it, no list or evidence object made; GPU-level evidence names its candidate <see cref="Pids"/>
/// and its <see cref="Evidence"/>. <see cref="Weight"/> is the share of the GPU's time the evidence
/// is about (a process's SM share; 1 for the whole GPU). <see cref="Fresh"/> is false for a budget
/// that still holds without new work this tick (keeps the violation open, does not extend its
/// end). <see cref="Immediate"/>: a budget was reached, open now, from <see cref="EvidenceSince"/>.
/// </summary>
internal readonly record struct Observation(
    PolicyRule Rule,
    int Gpu,
    string Uuid,
    Inspection.JobRef? Job,
    string? User,
    string? Executable,
    string? Comm,
    IReadOnlyList<int> Pids,
    double Weight,
    ObservationEvidence? Evidence)
{
    /// <summary>The process whose own evidence this is (not a candidate of GPU-level evidence); null for GPU-level evidence.</summary>
    public Pipeline.ProcessView? Process { get; init; }

    public bool Fresh { get; init; } = true;

    public bool Immediate { get; init; }

    public double EvidenceSince { get; init; } = double.PositiveInfinity;

    public bool Hash { get; init; }

    /// <summary>The run context of the process(es) the evidence is about.</summary>
    public IReadOnlyList<string> Context { get; init; } = [];

    /// <summary>The evidence lines, built only when a tracker still collects them.</summary>
    public IReadOnlyList<string> Lines() => Process is { } process ? ProcessEvidence.Lines(Rule, process) : Evidence!.Lines();
}
