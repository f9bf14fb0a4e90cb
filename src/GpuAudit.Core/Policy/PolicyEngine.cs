using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Pipeline;

namespace GpuAudit.Core.Policy;

/// <summary>
/// Turns each tick's verdicts and evidence into violations with hysteresis: a rule's evidence must
/// last the rule's open-after time before a violation opens (short gaps up to the close-after time
/// do not reset it, so a duty-cycled miner cannot dodge it), and an open violation closes after
/// the close-after time without evidence. Not thread-safe: one engine per pipeline.
/// </summary>
public sealed class PolicyEngine
{
    private const int MaxEvidenceLines = 8;

    private static readonly FindingKind[] MinerFindings =
        [FindingKind.MinerExecutable, FindingKind.MinerCommandLine, FindingKind.MinerLibrary, FindingKind.MinerKernel, FindingKind.MinerKernelLaunched];

    private static readonly FindingKind[] EgressFindings =
        [FindingKind.Tunnel, FindingKind.NonAllowlistedEgress, FindingKind.PoolPortConnection];

    private readonly AuditPolicy _policy;
    private readonly string? _node;
    private readonly Dictionary<ViolationKey, Tracker> _trackers = [];

    public PolicyEngine(AuditPolicy policy, string? node = null)
    {
        _policy = policy;
        _node = node;
    }

    public PolicyResult Evaluate(TickAnalysis tick)
    {
        var observations = Observe(tick);
        var opened = new List<Violation>();
        var closed = new List<Violation>();
        foreach (var observation in observations)
        {
            if (!_trackers.TryGetValue(observation.Key, out var tracker))
            {
                tracker = new Tracker(observation, tick.Time, FindAllowance(observation));
                _trackers.Add(observation.Key, tracker);
            }

            tracker.See(observation, tick.Time);
            if (tracker.Open is null && tick.Time - tracker.Since >= _policy[observation.Key.Rule].OpenAfterSeconds)
            {
                tracker.Open = CreateViolation(tracker);
                opened.Add(tracker.Open);
            }
        }

        var seen = observations.Select(o => o.Key).ToHashSet();
        foreach (var (key, tracker) in _trackers.Where(t => !seen.Contains(t.Key)).ToList())
        {
            if (tick.Time - tracker.LastSeen < _policy[key.Rule].CloseAfterSeconds)
            {
                continue;
            }

            _trackers.Remove(key);
            if (tracker.Open is { } open)
            {
                closed.Add(open with { End = tracker.LastSeen });
            }
        }

        var active = _trackers.Values.Select(t => t.Open).OfType<Violation>()
            .OrderBy(v => v.Start).ThenBy(v => v.Id, StringComparer.Ordinal).ToList();
        return new PolicyResult(opened, closed, active);
    }

    private List<Observation> Observe(TickAnalysis tick)
    {
        var observations = new List<Observation>();
        foreach (var gpu in tick.Gpus)
        {
            var processes = gpu.Processes;
            foreach (var process in processes)
            {
                ObserveProcess(gpu, process, observations);
            }

            if (processes.Count == 0 && gpu.Verdict is { Class: WorkloadClass.Hash } gpuVerdict)
            {
                // Hash-like work with no visible process: it runs in a pid namespace we cannot see.
                Add(observations, PolicyRule.HashCompute, gpu, null, gpu.AllocatedJob, null, null,
                    () => [VerdictLine("GPU", gpuVerdict), "no process on this GPU is visible to the agent", .. gpuVerdict.Evidence]);
            }

            if (gpu.AllocatedJob is { } allocated && IsIdle(gpu, processes.Count))
            {
                Add(observations, PolicyRule.IdleAllocation, gpu, null, allocated, allocated.User, null,
                    () => [$"GPU allocated to job {allocated.Id} ({allocated.Source}) but idle" + (gpu.Verdict is { } v ? $" (verdict idle, confidence {Format(v.Confidence)})" : " (0% utilization, no process)")]);
            }
        }

        return observations;
    }

    private void ObserveProcess(GpuView gpu, ProcessView process, List<Observation> observations)
    {
        var attribution = process.Attribution;
        var job = attribution.Job;
        var user = attribution.User(process.Insight?.User);
        var findings = process.Insight?.Findings ?? [];

        var hashConstants = findings.Where(f => f.Kind is FindingKind.HashConstantInGpuCode or FindingKind.HashKernelLaunched).Select(FindingLine).ToList();
        if (process.Verdict is { Class: WorkloadClass.Hash } verdict)
        {
            Add(observations, PolicyRule.HashCompute, gpu, process, job, user, attribution,
                () => [VerdictLine($"pid {process.Pid}", verdict), .. verdict.Evidence, .. hashConstants]);
        }
        else if (hashConstants.Count > 0)
        {
            // Hash constants inside GPU code are hashing even when the counters look like training.
            Add(observations, PolicyRule.HashCompute, gpu, process, job, user, attribution, () => hashConstants);
        }

        var miner = findings.Where(f => MinerFindings.Contains(f.Kind)).Select(FindingLine).ToList();
        if (miner.Count > 0)
        {
            Add(observations, PolicyRule.MinerIdentity, gpu, process, job, user, attribution, () => miner);
        }

        var egress = findings.Where(f => EgressFindings.Contains(f.Kind)).Select(FindingLine).ToList();
        if (egress.Count > 0)
        {
            Add(observations, PolicyRule.GpuJobEgress, gpu, process, job, user, attribution, () => egress);
        }

        if (!attribution.IsAttributed)
        {
            Add(observations, PolicyRule.UnattributedProcess, gpu, process, job, user, attribution, () => [attribution.Explain()]);
        }
    }

    /// <summary>
    /// Records that a rule's evidence holds this tick. The evidence lines are built by
    /// <paramref name="evidence"/> only when a tracker still collects them (before it opens, up to
    /// its limit): formatting them on every tick for every process was most of the policy's cost.
    /// </summary>
    private void Add(List<Observation> observations, PolicyRule rule, GpuView gpu, ProcessView? process, JobRef? job, string? user, JobAttribution? attribution, Func<IReadOnlyList<string>> evidence)
    {
        if (!_policy[rule].Enabled)
        {
            return;
        }

        var key = new ViolationKey(rule, gpu.Device.Uuid, process?.Pid, job?.Id);
        var executable = process?.Identity?.Exe ?? process?.Identity?.Comm;
        Func<IReadOnlyList<string>> lines = attribution is { IsAttributed: true } && rule != PolicyRule.UnattributedProcess
            ? () => [.. evidence(), attribution.Explain()]
            : evidence;
        observations.Add(new Observation(key, gpu.Device.Index, job, user, executable, process?.Identity?.Comm, lines));
    }

    private static bool IsIdle(GpuView gpu, int processCount) => gpu.Verdict is { } verdict
        ? verdict.Class == WorkloadClass.Idle
        : gpu.Sample is { UtilGpuPct: 0 } && processCount == 0;

    private Allowance? FindAllowance(Observation observation) =>
        _policy.Allowances.FirstOrDefault(a => a.Covers(observation.Key.Rule) && Matches(a, observation));

    private static bool Matches(Allowance allowance, Observation o) =>
        (allowance.Job is null || allowance.Job == o.Job?.Id)
        && (allowance.User is null || allowance.User == o.User)
        && (allowance.Namespace is null || allowance.Namespace == KubernetesNamespace(o.Job))
        && (allowance.Executable is null || MatchesExecutable(allowance.Executable, o));

    /// <summary>A path matches the exe exactly; a bare name matches the exe's file name or the comm.</summary>
    private static bool MatchesExecutable(string pattern, Observation o) => pattern.Contains('/', StringComparison.Ordinal)
        ? pattern == o.Executable
        : pattern == o.Comm || (o.Executable is { } exe && pattern == exe[(exe.LastIndexOf('/') + 1)..]);

    /// <summary>Kubernetes jobs are named namespace/pod by the inspector.</summary>
    private static string? KubernetesNamespace(JobRef? job) =>
        job is { Source: "kubernetes" } && job.Id.IndexOf('/', StringComparison.Ordinal) is var slash and > 0 ? job.Id[..slash] : null;

    private Violation CreateViolation(Tracker tracker)
    {
        var key = tracker.Key;
        return new Violation
        {
            Id = StableId(key, tracker.Since),
            Rule = key.Rule,
            Node = _node,
            Gpu = tracker.Gpu,
            Uuid = key.Uuid,
            Pid = key.Pid,
            Job = key.Job,
            User = tracker.User,
            Executable = tracker.Executable,
            Start = tracker.Since,
            Evidence = [.. tracker.Evidence],
            AllowedBy = tracker.Allowance,
        };
    }

    /// <summary>Same violation, same id, on every node and after a restart of the report tooling.</summary>
    private string StableId(ViolationKey key, double start)
    {
        var text = string.Join('|', _node ?? "", key.Rule.Label(), key.Uuid, key.Pid?.ToString(CultureInfo.InvariantCulture) ?? "", key.Job ?? "",
            Math.Round(start * 1000).ToString(CultureInfo.InvariantCulture));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 8));
    }

    private static string VerdictLine(string subject, Verdict verdict) =>
        $"{subject} classified {verdict.Class.Label()} (confidence {Format(verdict.Confidence)})";

    private static string FindingLine(ProcessFinding finding) => finding.Kind.Label() + ": " + finding.Detail;

    private static string Format(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);

    private readonly record struct ViolationKey(PolicyRule Rule, string Uuid, int? Pid, string? Job);

    private sealed record Observation(ViolationKey Key, int Gpu, JobRef? Job, string? User, string? Executable, string? Comm, Func<IReadOnlyList<string>> Evidence);

    private sealed class Tracker(Observation first, double since, Allowance? allowance)
    {
        public ViolationKey Key { get; } = first.Key;

        public int Gpu { get; } = first.Gpu;

        public string? User { get; } = first.User;

        public string? Executable { get; } = first.Executable;

        public Allowance? Allowance { get; } = allowance;

        public double Since { get; } = since;

        public double LastSeen { get; private set; } = since;

        public List<string> Evidence { get; } = [];

        public Violation? Open { get; set; }

        /// <summary>Keeps the first distinct evidence lines, so the record shows what opened it.</summary>
        public void See(Observation observation, double time)
        {
            LastSeen = time;
            if (Open is not null || Evidence.Count >= MaxEvidenceLines)
            {
                return;
            }

            foreach (var line in observation.Evidence())
            {
                if (Evidence.Count < MaxEvidenceLines && !Evidence.Contains(line))
                {
                    Evidence.Add(line);
                }
            }
        }
    }
}
