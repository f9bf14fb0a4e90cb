using static GpuAudit.Core.Tests.Policy.HandTicks;

namespace GpuAudit.Core.Tests.Policy;

/// <summary>Purpose-aware diversion, the hash evidence budget and the one definition of diverted GPU time.</summary>
public sealed class PurposeAndBudgetTests
{
    private static readonly JobRef Training = new("4242", "gpu-map", "alice") { Purpose = JobPurpose.Training };

    private static AuditPolicy Parse(string text) => PolicyParser.Parse("policy.json", text, new Dictionary<string, string>());

    [Fact]
    public void Purpose_comes_from_the_map_then_account_then_partition_then_the_default()
    {
        var policy = Parse("""
            { "default_purpose": "inference",
              "purposes": { "partitions": { "train": "training" }, "accounts": { "hpc": "compute" } } }
            """);

        Assert.Equal((JobPurpose.Training, "the GPU map"), policy.PurposeOf(Training with { Account = "hpc" }));
        Assert.Equal((JobPurpose.Compute, "account hpc"), policy.PurposeOf(new JobRef("1", "gpu-map") { Account = "hpc", Partition = "train" }));
        Assert.Equal((JobPurpose.Training, "partition train"), policy.PurposeOf(new JobRef("1", "gpu-map") { Partition = "train" }));
        Assert.Equal((JobPurpose.Inference, "default_purpose"), policy.PurposeOf(new JobRef("1", "gpu-map")));
        // A claim the process made has no purpose of its own.
        Assert.Equal((JobPurpose.Inference, "default_purpose"), policy.PurposeOf(new JobRef("1", "slurm-env") { Purpose = JobPurpose.Any }));
    }

    [Fact]
    public void A_purpose_that_is_not_one_is_an_error_naming_the_line()
    {
        var e = Assert.Throws<PolicyException>(() => Parse("{\n  \"default_purpose\": \"mining\"\n}"));
        Assert.StartsWith("policy.json:2: \"default_purpose\" is not a purpose; use one of any, training, inference, compute", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(JobPurpose.Training, WorkloadClass.Compute, true)]
    [InlineData(JobPurpose.Training, WorkloadClass.Inference, false)]
    [InlineData(JobPurpose.Training, WorkloadClass.Idle, false)]
    [InlineData(JobPurpose.Inference, WorkloadClass.Training, true)]
    [InlineData(JobPurpose.Compute, WorkloadClass.Compute, false)]
    [InlineData(JobPurpose.Compute, WorkloadClass.Hash, true)]
    [InlineData(JobPurpose.Any, WorkloadClass.Compute, false)]
    [InlineData(JobPurpose.Any, WorkloadClass.Hash, true)]
    [InlineData(JobPurpose.Training, WorkloadClass.Unknown, false)]
    public void Which_classes_divert_a_GPU_from_its_purpose(JobPurpose purpose, WorkloadClass workClass, bool diverts)
    {
        Assert.Equal(diverts, purpose.Diverts(workClass));
    }

    [Fact]
    public void A_training_job_computing_for_ten_minutes_opens_diverted_compute_carrying_its_gpu_minutes()
    {
        var engine = new PolicyEngine(AuditPolicy.Default);

        var results = Enumerable.Range(0, 700).Select(t => engine.Evaluate(At(t, Training, WorkloadClass.Compute, Process(7, WorkloadClass.Compute)))).ToList();

        var opened = Assert.Single(results.SelectMany(r => r.Opened));
        Assert.Equal((PolicyRule.DivertedCompute, Severity.Warning, "4242", 0.0), (opened.Rule, opened.Severity, opened.Job, opened.Start));
        Assert.Equal(600, results.FindIndex(r => r.Opened.Count > 0));
        Assert.Equal(600, opened.DivertedSeconds, 6);
        Assert.Contains("job 4242 is for training (from the GPU map); the GPU did compute with 100% of its time, outside that purpose", opened.Evidence);
        Assert.Contains("10.0 GPU-minutes diverted from the job's purpose before it opened", opened.Evidence);
        // GPU-seconds diverted: the backlog from the start when it opens, then every tick.
        Assert.Equal(699, results.SelectMany(r => r.Diverted).Sum(d => d.Seconds), 6);
    }

    [Fact]
    public void Training_with_short_compute_phases_never_opens_diverted_compute()
    {
        var engine = new PolicyEngine(AuditPolicy.Default);

        // 60 s of GPU data preprocessing every 5 minutes: 4 minutes in 20.
        var opened = Enumerable.Range(0, 3600).SelectMany(t => engine.Evaluate(At(t, Training,
            t % 300 < 60 ? WorkloadClass.Compute : WorkloadClass.Training)).Opened);

        Assert.Empty(opened);
    }

    [Fact]
    public void Hashing_in_a_training_job_makes_diverted_compute_critical()
    {
        var rules = AuditPolicy.DefaultRules();
        rules[PolicyRule.DivertedCompute] = rules[PolicyRule.DivertedCompute] with { OpenAfterSeconds = 60 };
        var engine = new PolicyEngine(new AuditPolicy(rules, []));

        var opened = Enumerable.Range(0, 70).SelectMany(t => engine.Evaluate(At(t, Training, WorkloadClass.Hash, Process(7, WorkloadClass.Hash))).Opened).ToList();

        Assert.Equal(Severity.Critical, opened.Single(v => v.Rule == PolicyRule.DivertedCompute).Severity);
        Assert.Single(opened, v => v.Rule == PolicyRule.HashCompute);
    }

    [Fact]
    public void Diverted_gpu_seconds_are_counted_once_however_many_rules_are_open()
    {
        var engine = new PolicyEngine(AuditPolicy.Default);
        var miner = Process(7, WorkloadClass.Hash, findings: new ProcessFinding(FindingKind.MinerExecutable, "xmrig"));

        var results = Enumerable.Range(0, 100).Select(t => engine.Evaluate(At(t, Training, WorkloadClass.Hash, miner))).ToList();

        Assert.Contains(results.SelectMany(r => r.Active), v => v.Rule == PolicyRule.MinerIdentity);
        Assert.Contains(results.SelectMany(r => r.Active), v => v.Rule == PolicyRule.HashCompute);
        Assert.Equal(99, results.SelectMany(r => r.Diverted).Sum(d => d.Seconds), 6);
    }

    [Fact]
    public void Allowed_hashing_diverts_nothing()
    {
        var allowance = new Allowance([PolicyRule.HashCompute], "4242", null, null, null, "dedup", 1);
        var engine = new PolicyEngine(new AuditPolicy(AuditPolicy.DefaultRules(), [allowance]) { DefaultPurpose = JobPurpose.Compute });
        var job = new JobRef("4242", "gpu-map");

        var results = Enumerable.Range(0, 100).Select(t => engine.Evaluate(At(t, job, WorkloadClass.Hash, Process(7, WorkloadClass.Hash)))).ToList();

        Assert.True(results.SelectMany(r => r.Opened).Single(v => v.Rule == PolicyRule.HashCompute).IsAllowed);
        Assert.Empty(results.SelectMany(r => r.Diverted));
    }

    [Fact]
    public void The_evidence_budget_opens_on_hash_seconds_spread_too_thin_for_any_stretch_to_last()
    {
        var engine = new PolicyEngine(AuditPolicy.Default);
        var opened = new List<Violation>();
        var total = 0.0;
        for (var t = 0; t < 600; t++)
        {
            // 1 s of hashing every 40 s: each stretch of evidence ends long before close_after joins them.
            var burst = t % 40 == 0;
            total += burst ? 1 : 0;
            opened.AddRange(engine.Evaluate(AtWithHashSeconds(t, Training, burst ? WorkloadClass.Hash : WorkloadClass.Idle, total)).Opened);
        }

        var violation = Assert.Single(opened, v => v.Rule == PolicyRule.HashCompute);
        Assert.Equal(0, violation.Start);
        Assert.Contains(violation.Evidence, e => e.StartsWith("evidence budget: 8.0 GPU-seconds of hash-like work on this GPU for job 4242", StringComparison.Ordinal));
    }

    [Fact]
    public void A_miner_that_stops_closes_after_its_quiet_time_even_while_its_budget_still_holds()
    {
        var engine = new PolicyEngine(AuditPolicy.Default);
        var results = new List<PolicyResult>();
        for (var t = 0; t < 120; t++)
        {
            var hashing = t < 60;
            results.Add(engine.Evaluate(AtWithHashSeconds(t, Training, hashing ? WorkloadClass.Hash : WorkloadClass.Idle, Math.Min(t, 59))));
        }

        var closed = Assert.Single(results.SelectMany(r => r.Closed), v => v.Rule == PolicyRule.HashCompute);
        Assert.Equal(59, closed.End);
        Assert.Equal(89, results.FindIndex(r => r.Closed.Count > 0));
    }

    private static TickAnalysis AtWithHashSeconds(double time, JobRef job, WorkloadClass gpuClass, double hashSeconds)
    {
        var tick = At(time, job, gpuClass);
        var gpu = tick.Gpus[0];
        return tick with { Gpus = [gpu with { Verdict = gpu.Verdict! with { HashSecondsTotal = hashSeconds } }] };
    }
}
