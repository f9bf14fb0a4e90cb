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

    public static AuditPolicy Default { get; } = new(DefaultRules(), []);

    public RuleSettings this[PolicyRule rule] => Rules[rule];

    public static Dictionary<PolicyRule, RuleSettings> DefaultRules() => new()
    {
        // Critical rules open fast: a miner earns money every second it runs.
        [PolicyRule.HashCompute] = new RuleSettings(true, OpenAfterSeconds: 5, CloseAfterSeconds: 30),
        [PolicyRule.MinerIdentity] = new RuleSettings(true, OpenAfterSeconds: 0, CloseAfterSeconds: 30),
        [PolicyRule.GpuJobEgress] = new RuleSettings(true, OpenAfterSeconds: 0, CloseAfterSeconds: 30),

        // A process the scheduler has not registered yet is normal for a few seconds after launch.
        [PolicyRule.UnattributedProcess] = new RuleSettings(true, OpenAfterSeconds: 30, CloseAfterSeconds: 30),
        [PolicyRule.IdleAllocation] = new RuleSettings(true, OpenAfterSeconds: DefaultIdleAllocationMinutes * 60, CloseAfterSeconds: 60),
    };
}

/// <summary>
/// Hysteresis of one rule: a violation opens once evidence has lasted <see cref="OpenAfterSeconds"/>
/// and closes after <see cref="CloseAfterSeconds"/> without evidence.
/// </summary>
public sealed record RuleSettings(bool Enabled, double OpenAfterSeconds, double CloseAfterSeconds);

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
