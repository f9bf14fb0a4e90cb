using static GpuAudit.Core.Tests.Policy.HandTicks;

namespace GpuAudit.Core.Tests.Policy;

public sealed class PolicyEngineTests
{
    private static readonly JobRef Job = new("4242", "gpu-map", "alice");

    [Fact]
    public void Hash_compute_opens_after_its_open_time_with_the_evidence_and_closes_after_quiet_time()
    {
        var engine = new PolicyEngine(AuditPolicy.Default, "node-a");
        var hashing = Process(776, WorkloadClass.Hash);

        for (var t = 100; t < 105; t++)
        {
            Assert.Empty(engine.Evaluate(At(t, Job, WorkloadClass.Hash, hashing)).Opened);
        }

        var opened = Assert.Single(engine.Evaluate(At(105, Job, WorkloadClass.Hash, hashing)).Opened);
        Assert.Equal(PolicyRule.HashCompute, opened.Rule);
        Assert.Equal(Severity.Critical, opened.Severity);
        Assert.Equal((776, "4242", "alice", 100.0, "node-a"), (opened.Pid, opened.Job, opened.User, opened.Start, opened.Node));
        Assert.Contains("pid 776 classified hash (confidence 0.95)", opened.Evidence);
        Assert.Contains("integer pipe 92%, tensor 0%", opened.Evidence);
        Assert.Null(opened.End);

        engine.Evaluate(At(110, Job, WorkloadClass.Hash, hashing));
        Assert.Single(engine.Evaluate(At(139, Job, WorkloadClass.Idle)).Active);
        var result = engine.Evaluate(At(140, Job, WorkloadClass.Idle));
        var closed = Assert.Single(result.Closed);
        Assert.Equal(opened.Id, closed.Id);
        Assert.Equal(110, closed.End);
        Assert.Empty(result.Active);
    }

    [Fact]
    public void A_closed_violation_opens_again_when_the_same_work_comes_back()
    {
        // The same process, GPU, job and rule: the same key as the closed violation's. Its new
        // evidence must reach a new tracker, not the closed one (the engine remembers the tracker
        // its last observation went to).
        var engine = new PolicyEngine(AuditPolicy.Default, "node-a");
        var hashing = Process(776, WorkloadClass.Hash);
        var first = Enumerable.Range(100, 6).SelectMany(t => engine.Evaluate(At(t, Job, WorkloadClass.Hash, hashing)).Opened).Single();
        // Nothing observed in between (no allocation, so no idle-allocation evidence either).
        Assert.Equal(first.Id, Assert.Single(engine.Evaluate(At(140, null, WorkloadClass.Idle)).Closed).Id);

        var again = Enumerable.Range(141, 6).SelectMany(t => engine.Evaluate(At(t, Job, WorkloadClass.Hash, hashing)).Opened).ToList();

        var reopened = Assert.Single(again);
        Assert.Equal((PolicyRule.HashCompute, 776, 141.0), (reopened.Rule, reopened.Pid, reopened.Start));
        Assert.NotEqual(first.Id, reopened.Id);
    }

    [Fact]
    public void A_duty_cycled_miner_still_opens_because_short_gaps_do_not_reset_the_evidence()
    {
        var engine = new PolicyEngine(AuditPolicy.Default);
        var hashing = Process(9, WorkloadClass.Hash);
        var resting = Process(9, WorkloadClass.Idle);

        var opened = Enumerable.Range(0, 8)
            .SelectMany(t => engine.Evaluate(At(t, Job, WorkloadClass.Compute, t % 2 == 0 ? hashing : resting)).Opened)
            .ToList();

        Assert.Equal(0, Assert.Single(opened).Start);
    }

    [Fact]
    public void Ids_are_stable_for_the_same_violation_and_differ_between_nodes()
    {
        static string OpenId(string node)
        {
            var engine = new PolicyEngine(AuditPolicy.Default, node);
            return Enumerable.Range(0, 6).SelectMany(t => engine.Evaluate(At(t, Job, WorkloadClass.Hash, Process(1, WorkloadClass.Hash))).Opened).Single().Id;
        }

        Assert.Equal(OpenId("a"), OpenId("a"));
        Assert.NotEqual(OpenId("a"), OpenId("b"));
        Assert.Matches("^[0-9a-f]{16}$", OpenId("a"));
    }

    [Fact]
    public void Miner_identity_and_egress_open_at_once_from_inspector_findings()
    {
        var engine = new PolicyEngine(AuditPolicy.Default);
        var miner = Process(812, WorkloadClass.Compute, exe: "/tmp/xmrig",
            findings: [new ProcessFinding(FindingKind.MinerExecutable, "exe /tmp/xmrig"), new ProcessFinding(FindingKind.Tunnel, "ssh -R 9000:localhost:22 (pid 813)")]);

        var opened = engine.Evaluate(At(0, Job, WorkloadClass.Compute, miner)).Opened;

        Assert.Equal([PolicyRule.MinerIdentity, PolicyRule.GpuJobEgress], opened.Select(v => v.Rule));
        Assert.Contains("tunnel: ssh -R 9000:localhost:22 (pid 813)", opened[1].Evidence);
        Assert.All(opened, v => Assert.Equal("/tmp/xmrig", v.Executable));
    }

    [Fact]
    public void Hash_constants_in_GPU_code_are_hash_compute_even_when_counters_look_like_training()
    {
        var engine = new PolicyEngine(AuditPolicy.Default with { Rules = WithOpenAfter(PolicyRule.HashCompute, 0) });
        var disguised = Process(5, WorkloadClass.Training, findings: new ProcessFinding(FindingKind.HashConstantInGpuCode, "sha256_k_table in a cubin"));

        var opened = Assert.Single(engine.Evaluate(At(0, Job, WorkloadClass.Training, disguised)).Opened);

        Assert.Equal(PolicyRule.HashCompute, opened.Rule);
        Assert.Contains("hash_constant_in_gpu_code: sha256_k_table in a cubin", opened.Evidence);
    }

    [Fact]
    public void A_process_whose_job_disagrees_with_the_allocation_is_an_unattributed_warning()
    {
        var engine = new PolicyEngine(AuditPolicy.Default);
        var stray = Process(33, WorkloadClass.Training, ownJob: new JobRef("999", "slurm-cgroup"));

        var opened = Enumerable.Range(0, 31).SelectMany(t => engine.Evaluate(At(t, Job, WorkloadClass.Training, stray)).Opened).ToList();

        // Accounted to the job the scheduler gave the GPU; the process's claim is named, never trusted.
        var violation = Assert.Single(opened);
        Assert.Equal((PolicyRule.UnattributedProcess, Severity.Warning, "4242", 30.0), (violation.Rule, violation.Severity, violation.Job, violation.DurationSeconds(60) - 30 + violation.Start));
        Assert.Contains("claims job 999 (slurm-cgroup) but the GPU is allocated to job 4242", violation.Evidence.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_allocated_GPU_idle_for_the_configured_minutes_is_an_info_finding()
    {
        var engine = new PolicyEngine(AuditPolicy.Default);

        Assert.Empty(Enumerable.Range(0, 600).SelectMany(t => engine.Evaluate(At(t, Job, WorkloadClass.Idle)).Opened));
        var opened = Assert.Single(engine.Evaluate(At(600, Job, WorkloadClass.Idle)).Opened);

        Assert.Equal((PolicyRule.IdleAllocation, Severity.Info, (int?)null, "4242", 0.0), (opened.Rule, opened.Severity, opened.Pid, opened.Job, opened.Start));
        Assert.Empty(engine.Evaluate(At(601, null, WorkloadClass.Idle)).Opened);
    }

    [Theory]
    [InlineData(3, 10)]
    [InlineData(30, 100)]
    [InlineData(120, 600)]
    public void Idle_allocation_needs_a_sustained_idle_share_so_training_with_idle_phases_never_opens_it(int idle, int period)
    {
        var engine = new PolicyEngine(AuditPolicy.Default);

        var opened = Enumerable.Range(0, 3600)
            .SelectMany(t => engine.Evaluate(At(t, Job, t % period < idle ? WorkloadClass.Idle : WorkloadClass.Training)).Opened);

        Assert.Empty(opened);
    }

    [Fact]
    public void Idle_allocation_opens_on_a_GPU_idle_nine_minutes_in_ten()
    {
        var engine = new PolicyEngine(AuditPolicy.Default);

        var opened = Enumerable.Range(0, 1200)
            .SelectMany(t => engine.Evaluate(At(t, Job, t % 600 < 30 ? WorkloadClass.Training : WorkloadClass.Idle)).Opened)
            .ToList();

        Assert.Equal(PolicyRule.IdleAllocation, Assert.Single(opened).Rule);
    }

    [Fact]
    public void An_allowance_turns_the_violation_into_an_allowed_finding_with_its_reason()
    {
        var allowance = new Allowance([PolicyRule.HashCompute], "4242", null, null, null, "dataset dedup hashes shards", 7);
        var engine = new PolicyEngine(new AuditPolicy(AuditPolicy.DefaultRules(), [allowance]));

        var opened = Enumerable.Range(0, 6).SelectMany(t => engine.Evaluate(At(t, Job, WorkloadClass.Hash, Process(1, WorkloadClass.Hash))).Opened).ToList();

        var finding = Assert.Single(opened);
        Assert.True(finding.IsAllowed);
        Assert.Equal("dataset dedup hashes shards", finding.AllowedBy!.Reason);
    }

    [Theory]
    [InlineData(null, "alice", null, null, true)]
    [InlineData(null, "bob", null, null, false)]
    [InlineData(null, null, null, "xmrig", true)]
    [InlineData(null, null, null, "/tmp/xmrig", true)]
    [InlineData(null, null, null, "/usr/bin/xmrig", false)]
    [InlineData("4242", "alice", null, "xmrig", true)]
    [InlineData("4242", "bob", null, null, false)]
    [InlineData(null, null, "research", null, false)]
    public void Every_scope_an_allowance_sets_must_match(string? job, string? user, string? ns, string? exe, bool allowed)
    {
        var allowance = new Allowance([], job, user, ns, exe, "reason", 1);
        var engine = new PolicyEngine(new AuditPolicy(AuditPolicy.DefaultRules(), [allowance]));
        var miner = Process(2, WorkloadClass.Compute, exe: "/tmp/xmrig", findings: new ProcessFinding(FindingKind.MinerExecutable, "xmrig"));

        var opened = Assert.Single(engine.Evaluate(At(0, Job, WorkloadClass.Compute, miner)).Opened);

        Assert.Equal(allowed, opened.IsAllowed);
    }

    [Fact]
    public void A_namespace_allowance_matches_kubernetes_jobs_named_namespace_slash_pod()
    {
        var allowance = new Allowance([PolicyRule.MinerIdentity], null, null, "research", null, "honeypot", 1);
        var engine = new PolicyEngine(new AuditPolicy(AuditPolicy.DefaultRules(), [allowance]));
        var pod = Process(3, WorkloadClass.Compute, ownJob: new JobRef("research/trainer-0", "kubernetes"), findings: new ProcessFinding(FindingKind.MinerLibrary, "libxmrig-cuda.so"));

        Assert.True(Assert.Single(engine.Evaluate(At(0, null, WorkloadClass.Compute, pod)).Opened).IsAllowed);
    }

    [Fact]
    public void A_disabled_rule_never_opens()
    {
        var rules = AuditPolicy.DefaultRules();
        rules[PolicyRule.MinerIdentity] = rules[PolicyRule.MinerIdentity] with { Enabled = false };
        var engine = new PolicyEngine(new AuditPolicy(rules, []));
        var miner = Process(2, WorkloadClass.Compute, findings: new ProcessFinding(FindingKind.MinerExecutable, "xmrig"));

        Assert.Empty(engine.Evaluate(At(0, Job, WorkloadClass.Compute, miner)).Opened);
    }

    private static Dictionary<PolicyRule, RuleSettings> WithOpenAfter(PolicyRule rule, double seconds)
    {
        var rules = AuditPolicy.DefaultRules();
        rules[rule] = rules[rule] with { OpenAfterSeconds = seconds };
        return rules;
    }
}
