using GpuAudit.Core.Inspection;

namespace GpuAudit.Core.Policy;

/// <summary>
/// A validated policy: per-rule settings and the allowances that turn matching violations into
/// allowed findings. Build it with <see cref="PolicyParser"/>; <see cref="Default"/> is what a
/// node runs without a policy file.
/// </summary>
public sealed record AuditPolicy(IReadOnlyDictionary<PolicyRule, RuleSettings> Rules, IReadOnlyList<Allowance> Allowances)
{
    /// <summary>Idle allocation opens after 10 minutes, as the issue asks.</summary>
    public const double DefaultIdleAllocationMinutes = 10;

    /// <summary>
    /// Share of <c>idle_allocation</c>'s open-after time the GPU must have been idle in: 90%, so at
    /// most one busy minute in ten. A job that uses its GPU with short idle phases (start-up, data
    /// stalls, checkpoints) is not an idle allocation; one that holds it for nothing is.
    /// </summary>
    public const double IdleAllocationShare = 0.9;

    public static AuditPolicy Default { get; } = new(DefaultRules(), []);

    public RuleSettings this[PolicyRule rule] => Rules[rule];

    /// <summary>Purpose of a job whose GPU map line, account and partition say nothing (<c>default_purpose</c>).</summary>
    public JobPurpose DefaultPurpose { get; init; } = JobPurpose.Any;

    /// <summary>Purposes by scheduler partition (<c>purposes.partitions</c>).</summary>
    public IReadOnlyDictionary<string, JobPurpose> PartitionPurposes { get; init; } = new Dictionary<string, JobPurpose>();

    /// <summary>Purposes by scheduler account (<c>purposes.accounts</c>).</summary>
    public IReadOnlyDictionary<string, JobPurpose> AccountPurposes { get; init; } = new Dictionary<string, JobPurpose>();

    /// <summary>
    /// The purpose of <paramref name="job"/> and where it came from: the GPU map's <c>purpose=</c>, then
    /// the account's, then the partition's, then <see cref="DefaultPurpose"/>. Only a trusted job (the
    /// scheduler's) has a purpose of its own; a job named by nothing gets the default.
    /// </summary>
    public (JobPurpose Purpose, string From) PurposeOf(JobRef? job)
    {
        if (job is { IsTrusted: true })
        {
            if (job.Purpose is { } stated)
            {
                return (stated, "the GPU map");
            }

            if (job.Account is { } account && AccountPurposes.TryGetValue(account, out var byAccount))
            {
                return (byAccount, "account " + account);
            }

            if (job.Partition is { } partition && PartitionPurposes.TryGetValue(partition, out var byPartition))
            {
                return (byPartition, "partition " + partition);
            }
        }

        return (DefaultPurpose, "default_purpose");
    }

    public static Dictionary<PolicyRule, RuleSettings> DefaultRules() => new()
    {
        // Critical rules open fast: a miner earns money every second it runs.
        [PolicyRule.HashCompute] = new RuleSettings(true, OpenAfterSeconds: 5, CloseAfterSeconds: 30),
        [PolicyRule.MinerIdentity] = new RuleSettings(true, OpenAfterSeconds: 0, CloseAfterSeconds: 30),
        [PolicyRule.GpuJobEgress] = new RuleSettings(true, OpenAfterSeconds: 0, CloseAfterSeconds: 30),

        // A process the scheduler has not registered yet is normal for a few seconds after launch.
        [PolicyRule.UnattributedProcess] = new RuleSettings(true, OpenAfterSeconds: 30, CloseAfterSeconds: 30),
        [PolicyRule.IdleAllocation] = new RuleSettings(true, OpenAfterSeconds: DefaultIdleAllocationMinutes * 60, CloseAfterSeconds: 60),

        // 10 minutes of diverted GPU time within 20: ML jobs have legitimate non-ML phases on the GPU
        // (data preprocessing, tokenization, metric computation, checkpoint compression) of seconds to
        // a few minutes; ten minutes of them within twenty is no longer a phase. A diverted GPU costs its
        // job a tenth of an hour before the warning, well inside a scheduler's accounting granularity.
        [PolicyRule.DivertedCompute] = new RuleSettings(true, OpenAfterSeconds: 600, CloseAfterSeconds: 120),
    };
}

/// <summary>
/// Hysteresis of one rule: a violation opens once evidence has lasted <see cref="OpenAfterSeconds"/>
/// and closes after <see cref="CloseAfterSeconds"/> without evidence (docs/policy.md says how each
/// rule measures "lasted"). <see cref="BudgetSeconds"/> and <see cref="BudgetHorizonSeconds"/> are
/// <c>hash_compute</c>'s evidence budget: it also opens once the GPU has done this many GPU-seconds
/// of hash-like work for one job within the horizon, however thinly spread.
/// </summary>
public sealed record RuleSettings(bool Enabled, double OpenAfterSeconds, double CloseAfterSeconds)
{
    /// <summary>
    /// 8 GPU-seconds: what the continuous rule itself needs before it opens (3 busy readings for a
    /// verdict, then 5 s of verdicts), asked for however the work is spread. At a 10% duty cycle that
    /// is 80 s of wall time: within the 2 minutes the issue asks for.
    /// </summary>
    public double BudgetSeconds { get; init; } = 8;

    /// <summary>10 minutes: long enough to gather a 2%-duty miner's budget (8 s of hashing in 400 s).</summary>
    public double BudgetHorizonSeconds { get; init; } = 600;
}

/// <summary>
/// Permission for known, legitimate behaviour (a data-curation job that hashes). Every scope
/// that is set must match; <see cref="Rules"/> empty means every rule. <see cref="Reason"/> is
/// shown in reports next to the allowed finding. <see cref="Line"/> is where it was declared.
/// </summary>
public sealed record Allowance(
    IReadOnlyList<PolicyRule> Rules,
    string? Job,
    string? User,
    string? Namespace,
    string? Executable,
    string Reason,
    int Line)
{
    public bool Covers(PolicyRule rule) => Rules.Count == 0 || Rules.Contains(rule);

    /// <summary>A readable scope, e.g. "job=4242 user=alice".</summary>
    public string Scope
    {
        get
        {
            var parts = new List<string>();
            Add("job", Job);
            Add("user", User);
            Add("namespace", Namespace);
            Add("executable", Executable);
            return string.Join(' ', parts);

            void Add(string name, string? value)
            {
                if (value is not null)
                {
                    parts.Add(name + "=" + value);
                }
            }
        }
    }
}
