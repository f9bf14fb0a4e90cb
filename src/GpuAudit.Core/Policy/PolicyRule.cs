namespace GpuAudit.Core.Policy;

/// <summary>The rules a policy can apply. Names and severities are part of the metrics contract (docs/metrics.md).</summary>
public enum PolicyRule
{
    HashCompute,
    MinerIdentity,
    GpuJobEgress,
    UnattributedProcess,
    IdleAllocation,
    DivertedCompute,
}

/// <summary>How urgently a violation needs a person.</summary>
public enum Severity
{
    Info,
    Warning,
    Critical,
}

public static class PolicyRuleNames
{
    private static readonly string[] Names = ["hash_compute", "miner_identity", "gpu_job_egress", "unattributed_process", "idle_allocation", "diverted_compute"];
    private static readonly string[] SeverityNames = ["info", "warning", "critical"];

    public static IReadOnlyList<PolicyRule> All { get; } = Enum.GetValues<PolicyRule>();

    /// <summary>snake_case rule name used in policy files, metrics, the journal and reports.</summary>
    public static string Label(this PolicyRule rule) => Names[(int)rule];

    public static string Label(this Severity severity) => SeverityNames[(int)severity];

    /// <summary>
    /// Fixed by the metrics contract, so alert routing never depends on a local policy file. The one
    /// exception is fixed too: a <c>diverted_compute</c> violation whose diverted work includes hashing
    /// is critical (<see cref="Violation.Severity"/>).
    /// </summary>
    public static Severity SeverityOf(this PolicyRule rule) => rule switch
    {
        PolicyRule.UnattributedProcess or PolicyRule.DivertedCompute => Severity.Warning,
        PolicyRule.IdleAllocation => Severity.Info,
        _ => Severity.Critical,
    };

    /// <summary>Rules whose violations divert a GPU from its job: their time is the GPU-minutes diverted.</summary>
    public static bool Diverts(this PolicyRule rule) => rule is PolicyRule.HashCompute or PolicyRule.MinerIdentity or PolicyRule.DivertedCompute;

    public static bool TryParse(string? label, out PolicyRule rule)
    {
        var i = Array.IndexOf(Names, label);
        rule = i >= 0 ? (PolicyRule)i : default;
        return i >= 0;
    }

    public static bool TryParseSeverity(string? label, out Severity severity)
    {
        var i = Array.IndexOf(SeverityNames, label);
        severity = i >= 0 ? (Severity)i : default;
        return i >= 0;
    }
}
