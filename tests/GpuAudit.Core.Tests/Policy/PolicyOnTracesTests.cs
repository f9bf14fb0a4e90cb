namespace GpuAudit.Core.Tests.Policy;

/// <summary>The policy on the real H100 recordings, with verdicts from the traces' ground truth.</summary>
public sealed class PolicyOnTracesTests
{
    private static readonly JobRef Job = new("4242", "gpu-map", "alice");

    [Fact]
    public void Mixed_trace_with_the_GPU_given_to_a_job_yields_one_hash_violation_on_pid_776()
    {
        var opened = Run("mixed", Job, AuditPolicy.Default);

        var violation = Assert.Single(opened);
        Assert.Equal((PolicyRule.HashCompute, 776, "4242", false), (violation.Rule, violation.Pid, violation.Job, violation.IsAllowed));
        Assert.Equal("GPU-8dc927a2-2d2a-0eb2-59aa-7c156a06df4a", violation.Uuid);
        Assert.Contains("pid 776 classified hash (confidence 0.90)", violation.Evidence);
    }

    [Fact]
    public void Transformer_training_on_its_allocated_GPU_yields_nothing()
    {
        Assert.Empty(Run("train_transformer", Job, AuditPolicy.Default));
    }

    [Fact]
    public void An_allowance_for_the_job_turns_the_mixed_violation_into_an_allowed_finding()
    {
        var policy = PolicyParser.Parse("policy.json", """
            { "allowances": [ { "rules": ["hash_compute"], "job": "4242", "reason": "dedup job hashes shards" } ] }
            """, new Dictionary<string, string>());

        var finding = Assert.Single(Run("mixed", Job, policy));

        Assert.True(finding.IsAllowed);
        Assert.Equal("dedup job hashes shards", finding.AllowedBy!.Reason);
        Assert.Equal(776, finding.Pid);
    }

    [Fact]
    public void Without_a_job_map_both_mixed_processes_are_one_unattributed_warning_listing_both()
    {
        var opened = Run("mixed", null, AuditPolicy.Default with { Rules = ZeroOpenAfter(PolicyRule.UnattributedProcess) });
        var engine = new PolicyEngine(AuditPolicy.Default with { Rules = ZeroOpenAfter(PolicyRule.UnattributedProcess) }, "h100-probe");
        var last = TruthTicks.From(RecordedTrace.Load(RepoPaths.Trace("mixed")), null).Select(engine.Evaluate).ToList()[^1];

        var unattributed = Assert.Single(opened, v => v.Rule == PolicyRule.UnattributedProcess);
        Assert.Null(unattributed.Job);
        Assert.Equal([775, 776], last.Active.Single(v => v.Rule == PolicyRule.UnattributedProcess).Pids.Order());
    }

    private static List<Violation> Run(string trace, JobRef? job, AuditPolicy policy)
    {
        var engine = new PolicyEngine(policy, "h100-probe");
        return TruthTicks.From(RecordedTrace.Load(RepoPaths.Trace(trace)), job)
            .SelectMany(tick => engine.Evaluate(tick).Opened)
            .ToList();
    }

    private static Dictionary<PolicyRule, RuleSettings> ZeroOpenAfter(PolicyRule rule)
    {
        var rules = AuditPolicy.DefaultRules();
        rules[rule] = rules[rule] with { OpenAfterSeconds = 0 };
        return rules;
    }
}
