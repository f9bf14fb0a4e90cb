using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Pipeline;

namespace GpuAudit.Core.Policy;

/// <summary>
/// Turns each tick's verdicts and evidence into violations with hysteresis (docs/policy.md). A
/// violation is one rule on one GPU for one job (trusted sources only) and one allowance, never one
/// pid: evidence from any number of processes, and from pids that change every second, lands on the
/// same violation, which lists every pid involved. Beside each rule's own hysteresis,
/// <c>hash_compute</c> has an evidence budget (GPU-seconds of hash-like work over 10 minutes) for
/// work too thinly spread for any stretch of evidence to last. Also computes the GPU-seconds
/// diverted (<see cref="DivertedTime"/>). Not thread-safe: one engine per pipeline.
/// </summary>
public sealed class PolicyEngine
{
    /// <summary>Longest gap between two ticks still counted as observed time (as the minute summaries count it).</summary>
    private const double MaxTickSeconds = 10;

    private readonly AuditPolicy _policy;
    private readonly string? _node;
    private readonly Dictionary<ViolationKey, ViolationTracker> _trackers = new(ViolationKeyComparer.Instance);
    private readonly List<ViolationKey> _closing = [];
    private readonly HashBudget _budget;
    private readonly DivertedTime _diverted;
    private readonly Dictionary<string, (JobRef Job, double Time)> _recentJobs = [];
    private readonly Dictionary<string, (int Gpu, JobRef? Job, double Share)> _gpuJobs = [];
    private readonly List<int> _busyPids = [];
    private readonly List<string> _context = [];
    private readonly List<Violation> _opened = [];
    private readonly List<Violation> _closed = [];
    private IReadOnlyList<Violation> _active = [];

    // The result of a tick that opened, closed and diverted nothing, while the active list is the
    // same: most ticks, which then share it instead of allocating one each.
    private PolicyResult? _quiet;

    // The tracker the last observation went to: the processes of one GPU under one rule and job
    // share it, so most observations find it without hashing their key. Dropped at each tick's
    // start, before any tracker can have been removed.
    private ViolationTracker? _lastTracker;
    private double _previousTime = double.NaN;

    public PolicyEngine(AuditPolicy policy, string? node = null)
    {
        _policy = policy;
        _node = node;
        var hash = policy[PolicyRule.HashCompute];
        _budget = new HashBudget(hash.BudgetHorizonSeconds);

        // A diverting violation's start lies at most its evidence horizon before the tick it opens.
        var backlog = Math.Max(hash.BudgetHorizonSeconds, hash.OpenAfterSeconds + hash.CloseAfterSeconds);
        backlog = Math.Max(backlog, 2 * policy[PolicyRule.DivertedCompute].OpenAfterSeconds);
        backlog = Math.Max(backlog, policy[PolicyRule.MinerIdentity].OpenAfterSeconds + policy[PolicyRule.MinerIdentity].CloseAfterSeconds);
        _diverted = new DivertedTime(Math.Min(backlog, 6 * 3600) + MaxTickSeconds);
    }

    public PolicyResult Evaluate(TickAnalysis tick)
    {
        var time = tick.Time;
        var seconds = double.IsNaN(_previousTime) ? 0 : Math.Clamp(time - _previousTime, 0, MaxTickSeconds);
        _previousTime = time;

        var gpuJobs = _gpuJobs;
        gpuJobs.Clear();
        _lastTracker = null;
        Observe(tick, seconds, gpuJobs);

        var opened = _opened;
        var closed = _closed;
        opened.Clear();
        closed.Clear();
        var changed = false;
        foreach (var (key, tracker) in _trackers)
        {
            var settings = _policy[key.Rule];
            var seen = tracker.SeenThisTick;
            tracker.EndTick(time, seconds, ViolationTracker.HorizonOf(key.Rule, settings));
            if (seen)
            {
                if (tracker.Open is null && tracker.ShouldOpen(time, settings))
                {
                    tracker.Open = CreateViolation(tracker);
                    opened.Add(tracker.Open);
                }
                else if (tracker.Open is { } open && (open.Pids.Count != tracker.Pids.Count || open.Context.Count != tracker.Context.Count))
                {
                    // New pids (and runs) of a rotating workload join the open violation (same id, same start).
                    tracker.Open = open with { Pids = [.. tracker.Pids], Context = [.. tracker.Context] };
                    changed = true;
                }
            }
            else if (time - tracker.LastAlive >= settings.CloseAfterSeconds)
            {
                _closing.Add(key);
                if (tracker.Open is { } open)
                {
                    closed.Add(Finish(open, tracker) with { End = tracker.LastSeen });
                }
            }
        }

        foreach (var key in _closing)
        {
            _trackers.Remove(key);
        }

        _closing.Clear();
        _budget.Prune();
        var diverted = CountDiverted(time, seconds, gpuJobs);

        if (changed || opened.Count > 0 || closed.Count > 0)
        {
            _active = ActiveViolations();
            _quiet = null;
        }

        if (opened.Count == 0 && closed.Count == 0 && diverted.Count == 0)
        {
            return _quiet ??= new PolicyResult([], [], _active);
        }

        // The lists are copied: a result is read by the sinks (and kept as the latest) after the next tick began.
        return new PolicyResult(opened.Count == 0 ? [] : [.. opened], closed.Count == 0 ? [] : [.. closed], _active) { Diverted = diverted };
    }

    /// <summary>Feeds one observation to its violation's tracker, as it is made (nothing is queued, so its buffers can be reused).</summary>
    private void Record(in Observation observation, double time)
    {
        if (!_policy[observation.Rule].Enabled)
        {
            return;
        }

        var allowance = FindAllowance(observation);
        var key = new ViolationKey(observation.Rule, observation.Uuid, observation.Job?.Id, allowance is null ? -1 : IndexOf(allowance));
        if (_lastTracker is not { } tracker || key != _lastTracker.Key)
        {
            if (!_trackers.TryGetValue(key, out tracker))
            {
                tracker = new ViolationTracker(key, observation.Gpu, allowance, time);
                _trackers.Add(key, tracker);
            }

            _lastTracker = tracker;
        }

        tracker.Observe(observation);
    }

    /// <summary>Every open violation, oldest first (ties by id): rebuilt only on a tick that changed one.</summary>
    private List<Violation> ActiveViolations()
    {
        var active = new List<Violation>();
        foreach (var tracker in _trackers.Values)
        {
            if (tracker.Open is { } open)
            {
                active.Add(open);
            }
        }

        active.Sort(static (a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : string.CompareOrdinal(a.Id, b.Id));
        return active;
    }

    /// <summary>
    /// This tick's evidence, recorded GPU by GPU in a fixed order (each process's own, then the GPU's
    /// hash, idle and diverted evidence): the order trackers are made in, and pids and evidence lines
    /// listed in.
    /// </summary>
    private void Observe(TickAnalysis tick, double seconds, Dictionary<string, (int Gpu, JobRef? Job, double Share)> gpuJobs)
    {
        var time = tick.Time;
        var gpus = tick.GpuSpan;
        for (var g = 0; g < gpus.Length; g++)
        {
            var gpu = gpus[g];
            var uuid = gpu.Device.Uuid;
            var processes = gpu.ProcessSpan;
            var smTotal = SmTotal(gpu);
            var processHash = false;
            for (var i = 0; i < processes.Length; i++)
            {
                processHash |= ObserveProcess(gpu, processes[i], smTotal, time);
            }

            var job = gpu.AllocatedJob ?? RecentJob(uuid, CommonJob(processes), processes.Length, time);
            ObserveGpuHash(gpu, processes, job, processHash, time, seconds);

            if (gpu.AllocatedJob is { } allocated && IsIdle(gpu, processes.Length))
            {
                Record(GpuObservation(PolicyRule.IdleAllocation, gpu, allocated, [], 1, new IdleAllocationEvidence(allocated, gpu.Verdict)), time);
            }

            var (purpose, from) = _policy.PurposeOf(job);
            var share = DivertedTime.ShareOf(gpu.Verdict, processes, purpose);
            gpuJobs[uuid] = (gpu.Device.Index, job, share);
            if (job is not null && purpose != JobPurpose.Any && share > 0 && gpu.Verdict is { } verdict)
            {
                var diverted = GpuObservation(PolicyRule.DivertedCompute, gpu, job, BusyPids(processes), share, new DivertedEvidence(job, purpose, from, gpu.Processes, share, verdict));
                Record(diverted with { Hash = DivertedEvidence.IncludesHash(verdict, gpu.Processes, purpose) }, time);
            }
        }
    }

    /// <summary>
    /// A process's own evidence: its hash verdict, hash constants in its GPU code, miner and egress
    /// findings, no job. One pass over its findings, nothing allocated (its evidence lines are read
    /// from its view only when a tracker still collects them). Returns whether it gave
    /// <c>hash_compute</c> evidence.
    /// </summary>
    private bool ObserveProcess(GpuView gpu, ProcessView process, int smTotal, double time)
    {
        var attribution = process.Attribution;
        var findings = process.Insight?.Findings ?? [];
        bool hashFinding = false, minerFinding = false, egressFinding = false;
        for (var i = 0; i < findings.Count; i++)
        {
            var kind = findings[i].Kind;
            hashFinding |= ObservationEvidence.IsHashFinding(kind);
            minerFinding |= ObservationEvidence.IsMinerFinding(kind);
            egressFinding |= ObservationEvidence.IsEgressFinding(kind);
        }

        var hash = hashFinding || process.Verdict is { Class: WorkloadClass.Hash };
        if (!hash && !minerFinding && !egressFinding && attribution.IsAttributed)
        {
            return false;
        }

        var share = ShareOf(process, gpu, smTotal);
        if (hash)
        {
            // Hash constants inside GPU code are hashing even when the counters look like training.
            Record(ProcessObservation(PolicyRule.HashCompute, gpu, process, share) with { Hash = true }, time);
        }

        if (minerFinding)
        {
            Record(ProcessObservation(PolicyRule.MinerIdentity, gpu, process, share), time);
        }

        if (egressFinding)
        {
            Record(ProcessObservation(PolicyRule.GpuJobEgress, gpu, process, share), time);
        }

        if (!attribution.IsAttributed)
        {
            Record(ProcessObservation(PolicyRule.UnattributedProcess, gpu, process, share), time);
        }

        return hash;
    }

    /// <summary>
    /// Hash-like work on the GPU that no process's own verdict shows (any number of processes, pids
    /// that change faster than a verdict forms, no visible process), and the evidence budget.
    /// </summary>
    private void ObserveGpuHash(GpuView gpu, ReadOnlySpan<ProcessView> processes, JobRef? job, bool processHash, double time, double seconds)
    {
        var uuid = gpu.Device.Uuid;
        var verdict = gpu.Verdict;
        var candidates = verdict?.Candidates ?? [];
        var unexplained = verdict is { Class: WorkloadClass.Hash } || verdict is { Class: WorkloadClass.Mixed, Candidates.Count: > 0 };
        if (unexplained && !processHash)
        {
            var gpuLevel = GpuObservation(PolicyRule.HashCompute, gpu, job, candidates, 1, new UnexplainedHashEvidence(verdict!, processes.Length), CommonExecutable(processes, candidates));
            Record(gpuLevel with { Hash = true, Context = ContextOf(processes, candidates) }, time);
        }

        var settings = _policy[PolicyRule.HashCompute];
        var increment = verdict is null ? 0 : _budget.Increment(uuid, verdict.HashSecondsTotal);
        var (spent, since) = _budget.Add(uuid, job?.Id, time, increment);
        if (settings.Enabled && spent >= settings.BudgetSeconds && spent > 0)
        {
            var weight = increment > 0 ? Math.Min(1, increment / Math.Max(seconds, 1)) : 0;
            var budget = GpuObservation(PolicyRule.HashCompute, gpu, job, candidates, weight, new HashBudgetEvidence(spent, job?.Id, settings, verdict), CommonExecutable(processes, candidates));
            Record(budget with { Fresh = increment > 0, Immediate = true, EvidenceSince = since, Hash = true, Context = ContextOf(processes, candidates) }, time);
        }
    }

    /// <summary>A process's own evidence for a rule at this tick: its pid and lines come from its view.</summary>
    private static Observation ProcessObservation(PolicyRule rule, GpuView gpu, ProcessView process, double weight)
    {
        var attribution = process.Attribution;
        var identity = process.Identity;
        return new Observation(rule, gpu.Device.Index, gpu.Device.Uuid, attribution.Job, attribution.User(process.Insight?.User),
            identity?.Exe ?? identity?.Comm, identity?.Comm ?? process.Insight?.Comm, [], weight, null)
        {
            Process = process,
            Context = process.Insight?.Context ?? [],
        };
    }

    private static Observation GpuObservation(PolicyRule rule, GpuView gpu, JobRef? job, IReadOnlyList<int> pids, double weight, ObservationEvidence evidence, string? executable = null) =>
        new(rule, gpu.Device.Index, gpu.Device.Uuid, job, job?.User, executable, null, pids, weight, evidence);

    /// <summary>Per GPU and job: this tick's diverted work, counted while a diverting violation covers it.</summary>
    private IReadOnlyList<DivertedSeconds> CountDiverted(double time, double seconds, Dictionary<string, (int Gpu, JobRef? Job, double Share)> gpuJobs)
    {
        // Made only on a tick that diverts: the result keeps it.
        List<DivertedSeconds>? result = null;
        foreach (var (uuid, (gpu, job, share)) in gpuJobs)
        {
            double? coveredFrom = null;
            foreach (var tracker in _trackers.Values)
            {
                if (tracker.Open is { IsAllowed: false } open && open.Rule.Diverts() && open.Uuid == uuid && open.Job == job?.Id)
                {
                    coveredFrom = Math.Min(coveredFrom ?? double.PositiveInfinity, open.Start);
                }
            }

            var added = _diverted.Add(uuid, job?.Id, time, seconds * share, coveredFrom);
            if (added > 0)
            {
                (result ??= new List<DivertedSeconds>(gpuJobs.Count)).Add(new DivertedSeconds(gpu, uuid, job?.Id, added));
            }
        }

        _diverted.Prune(time);
        return result ?? (IReadOnlyList<DivertedSeconds>)[];
    }

    private static bool IsIdle(GpuView gpu, int processCount) => gpu.Verdict is { } verdict
        ? verdict.Class == WorkloadClass.Idle
        : gpu.Sample is { UtilGpuPct: 0 } && processCount == 0;

    /// <summary>
    /// The job of a GPU the scheduler's map does not cover: the one its processes name; with no process
    /// visible, the job its processes named within the last close-after time of <c>hash_compute</c> (the
    /// reading after a process exits still holds its work, and a process that hides between polls must
    /// not move its GPU's evidence out of its job).
    /// </summary>
    private JobRef? RecentJob(string uuid, JobRef? named, int processCount, double time)
    {
        if (named is not null)
        {
            _recentJobs[uuid] = (named, time);
            return named;
        }

        return processCount == 0 && _recentJobs.TryGetValue(uuid, out var recent) && time - recent.Time <= _policy[PolicyRule.HashCompute].CloseAfterSeconds
            ? recent.Job
            : null;
    }

    /// <summary>The trusted job every attributed process of the GPU names, when they name exactly one.</summary>
    private static JobRef? CommonJob(ReadOnlySpan<ProcessView> processes)
    {
        JobRef? only = null;
        foreach (var p in processes)
        {
            if (p.Attribution.Job is not { } job)
            {
                continue;
            }

            if (only is not null && only.Id != job.Id)
            {
                return null;
            }

            only ??= job;
        }

        return only;
    }

    /// <summary>
    /// The distinct run-context entries of the candidate processes (GPU-level evidence names no single
    /// process), in a buffer the next call reuses: the observation it goes with is recorded before.
    /// </summary>
    private List<string> ContextOf(ReadOnlySpan<ProcessView> processes, IReadOnlyList<int> candidates)
    {
        var context = _context;
        context.Clear();
        for (var i = 0; i < processes.Length; i++)
        {
            if (processes[i].Insight is not { Context.Count: > 0 } insight || !Contains(candidates, processes[i].Pid))
            {
                continue;
            }

            var entries = insight.Context;
            for (var e = 0; e < entries.Count; e++)
            {
                if (context.Count < ViolationTracker.MaxContext && !context.Contains(entries[e]))
                {
                    context.Add(entries[e]);
                }
            }
        }

        return context;
    }

    /// <summary>The executable all candidate processes share (an executable allowance may then match), else null.</summary>
    private static string? CommonExecutable(ReadOnlySpan<ProcessView> processes, IReadOnlyList<int> candidates)
    {
        string? common = null;
        for (var i = 0; i < processes.Length; i++)
        {
            var p = processes[i];
            if (!Contains(candidates, p.Pid))
            {
                continue;
            }

            var exe = p.Identity?.Exe ?? p.Identity?.Comm;
            if (exe is null || (common is not null && common != exe))
            {
                return null;
            }

            common = exe;
        }

        return common;
    }

    /// <summary>A process's share of the GPU's SM time at this tick (1 when alone; split evenly without per-process shares).</summary>
    private static double ShareOf(ProcessView process, GpuView gpu, int smTotal)
    {
        var count = gpu.Sample is { } sample ? sample.ProcSpan.Length : 0;
        return smTotal > 0 ? (process.Usage.SmPct ?? 0) / (double)smTotal : count > 0 ? 1.0 / count : 1;
    }

    /// <summary>The SM percentages of the GPU's sampled processes added up (once per GPU, not once per process).</summary>
    private static int SmTotal(GpuView gpu)
    {
        var total = 0;
        if (gpu.Sample is { } sample)
        {
            foreach (var usage in sample.ProcSpan)
            {
                total += usage.SmPct ?? 0;
            }
        }

        return total;
    }

    private static bool Contains(IReadOnlyList<int> pids, int pid)
    {
        for (var i = 0; i < pids.Count; i++)
        {
            if (pids[i] == pid)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The pids doing work, in a buffer the next call reuses: the observation it goes with is recorded before.</summary>
    private List<int> BusyPids(ReadOnlySpan<ProcessView> processes)
    {
        var pids = _busyPids;
        pids.Clear();
        for (var i = 0; i < processes.Length; i++)
        {
            if (processes[i].Verdict is { Class: not WorkloadClass.Idle })
            {
                pids.Add(processes[i].Pid);
            }
        }

        return pids;
    }

    private Allowance? FindAllowance(in Observation observation)
    {
        // Indexed: a foreach over the interface would allocate an enumerator per observation.
        var allowances = _policy.Allowances;
        for (var i = 0; i < allowances.Count; i++)
        {
            var allowance = allowances[i];
            if (allowance.Covers(observation.Rule) && Matches(allowance, observation))
            {
                return allowance;
            }
        }

        return null;
    }

    private int IndexOf(Allowance allowance)
    {
        for (var i = 0; i < _policy.Allowances.Count; i++)
        {
            if (ReferenceEquals(_policy.Allowances[i], allowance))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool Matches(Allowance allowance, in Observation o) =>
        (allowance.Job is null || allowance.Job == o.Job?.Id)
        && (allowance.User is null || allowance.User == o.User)
        && (allowance.Namespace is null || InKubernetesNamespace(allowance.Namespace, o.Job))
        && (allowance.Executable is null || MatchesExecutable(allowance.Executable, o));

    /// <summary>A path matches the exe exactly; a bare name matches the exe's file name or the comm (compared in place, not cut out).</summary>
    private static bool MatchesExecutable(string pattern, in Observation o) => pattern.Contains('/', StringComparison.Ordinal)
        ? pattern == o.Executable
        : pattern == o.Comm || (o.Executable is { } exe && pattern.AsSpan().SequenceEqual(exe.AsSpan(exe.LastIndexOf('/') + 1)));

    /// <summary>Kubernetes jobs are named namespace/pod by the inspector.</summary>
    private static bool InKubernetesNamespace(string ns, JobRef? job) =>
        job is { Source: JobSources.Kubernetes } && job.Id.IndexOf('/', StringComparison.Ordinal) is var slash and > 0 && ns.AsSpan().SequenceEqual(job.Id.AsSpan(0, slash));

    private Violation CreateViolation(ViolationTracker tracker)
    {
        var key = tracker.Key;
        var evidence = new List<string>(tracker.Evidence);
        if (tracker.Pids.Count > 1)
        {
            evidence.Add("pids involved: " + ObservationEvidence.PidList(tracker.Pids));
        }

        if (key.Rule == PolicyRule.DivertedCompute)
        {
            // Stored with the record (the journal keeps evidence): what it had diverted when it opened.
            evidence.Add(string.Create(CultureInfo.InvariantCulture, $"{tracker.DivertedSeconds / 60:0.0} GPU-minutes diverted from the job's purpose before it opened"));
        }

        return new Violation
        {
            Id = StableId(key, tracker.Since),
            Rule = key.Rule,
            Severity = key.Rule == PolicyRule.DivertedCompute && tracker.SawHash ? Severity.Critical : key.Rule.SeverityOf(),
            Node = _node,
            Gpu = tracker.Gpu,
            Uuid = key.Uuid,
            Pid = tracker.Pids.Count > 0 ? tracker.Pids[0] : null,
            Pids = [.. tracker.Pids],
            Job = key.Job,
            User = tracker.User,
            Executable = tracker.Executable,
            Start = tracker.Since,
            Evidence = evidence,
            Context = [.. tracker.Context],
            AllowedBy = tracker.Allowance,
            DivertedSeconds = key.Rule.Diverts() ? tracker.DivertedSeconds : 0,
        };
    }

    /// <summary>The record as it closes: every pid seen while open, and the diverted time to the end.</summary>
    private static Violation Finish(Violation open, ViolationTracker tracker) => open with
    {
        Pids = [.. tracker.Pids],
        Context = [.. tracker.Context],
        DivertedSeconds = open.Rule.Diverts() ? tracker.DivertedSeconds : 0,
    };

    /// <summary>Same violation, same id, on every node and after a restart of the report tooling.</summary>
    private string StableId(ViolationKey key, double start)
    {
        var text = string.Join('|', _node ?? "", key.Rule.Label(), key.Uuid, key.Job ?? "",
            key.Allowance.ToString(CultureInfo.InvariantCulture), Math.Round(start * 1000).ToString(CultureInfo.InvariantCulture));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 8));
    }

}
