using static GpuAudit.Core.Tests.RedTeam.RedTeamRun;

namespace GpuAudit.Core.Tests.RedTeam;

/// <summary>
/// The red-team suite: traces derived from the real recordings the ways an adversary would try to
/// walk past the auditor, run through the agent's own pipeline, with the violations they must (and
/// must not) open. Each case is a few thousand ticks at most: seconds of CPU.
/// </summary>
public sealed class RedTeamTests
{
    private static readonly JobRef Job = new("77", JobSources.GpuMap, "bob");

    public static TheoryData<string> HashRecordings => ["hash_sha256", "hash_memhard", "hash_throttled"];

    public static TheoryData<string> LegitimateRecordings =>
        ["train_transformer", "train_cnn", "train_fp32_mlp", "train_input_bound", "infer_bf16", "infer_int8", "sort_ints", "idle"];

    [Theory]
    [MemberData(nameof(HashRecordings))]
    public void Hashing_split_over_9_16_or_32_processes_opens_a_critical_violation_naming_the_job(string recording)
    {
        foreach (var n in (int[])[9, 16, 32])
        {
            var result = Run(Of(recording).Loop(60).ManyProcesses(n), Job);

            var violation = Assert.Single(result.Critical, v => v.Rule == PolicyRule.HashCompute);
            Assert.Equal("77", violation.Job);
            Assert.True(violation.Pids.Count >= 2, $"{n} processes: pids {string.Join(',', violation.Pids)}");
        }
    }

    [Theory]
    [MemberData(nameof(HashRecordings))]
    public void Hashing_with_the_pid_changing_every_1_2_or_5_s_opens_one_critical_violation_listing_the_pids(string recording)
    {
        foreach (var every in (int[])[1, 2, 5])
        {
            var result = Run(Of(recording).Loop(120).PidChurn(every), Job);

            var violation = Assert.Single(result.Critical, v => v.Rule == PolicyRule.HashCompute);
            Assert.Equal("77", violation.Job);
            var final = result.ActiveByTick[^1].Single(v => v.Id == violation.Id);
            Assert.True(final.Pids.Count >= 120 / every / 2, $"pid every {every} s: {final.Pids.Count} pids listed");
        }
    }

    [Theory]
    [InlineData("hash_sha256", 2, 10)]
    [InlineData("hash_sha256", 1, 10)]
    [InlineData("hash_memhard", 2, 10)]
    [InlineData("hash_memhard", 1, 10)]
    [InlineData("hash_sha256", 2, 20)]
    public void Hashing_at_a_low_duty_cycle_opens_a_critical_violation_within_2_minutes(string recording, int on, int period)
    {
        var result = Run(Of(recording).DutyCycle(on, period, 120), Job);

        var violation = Assert.Single(result.Critical, v => v.Rule == PolicyRule.HashCompute);
        Assert.Equal("77", violation.Job);
    }

    [Theory]
    [MemberData(nameof(HashRecordings))]
    public void Hashing_in_bursts_with_rotating_pids_still_opens(string recording)
    {
        var result = Run(Of(recording).DutyCycle(2, 10, 180).PidChurn(5), Job);

        Assert.Single(result.Critical, v => v.Rule == PolicyRule.HashCompute);
    }

    [Theory]
    [MemberData(nameof(LegitimateRecordings))]
    public void Legitimate_work_derived_the_same_ways_never_opens_hash_compute(string recording)
    {
        Derived[] derivations =
        [
            Of(recording).Loop(600),
            Of(recording).PolledEverySecond().Loop(600),
            Of(recording).Loop(300).PidChurn(5),
            Of(recording).Loop(300).PidChurn(1),
            Of(recording).DutyCycle(2, 10, 300),
            Of(recording).DutyCycle(1, 10, 300),
            Of(recording).DutyCycle(3, 30, 300),
            Of(recording).Loop(120).ManyProcesses(16),
        ];

        foreach (var derived in derivations)
        {
            var result = Run(derived, Job);
            Assert.DoesNotContain(result.Opened, v => v.Rule is PolicyRule.HashCompute or PolicyRule.MinerIdentity or PolicyRule.DivertedCompute);
            Assert.Equal(0, result.DivertedSeconds);
        }
    }

    [Fact]
    public void A_forged_cgroup_claim_of_an_allowed_job_unlocks_nothing_and_the_evidence_names_both_jobs()
    {
        var policy = PolicyParser.Parse("policy.json", """
            { "allowances": [ { "rules": ["hash_compute"], "job": "4242", "reason": "dedup hashes shards" } ] }
            """, new Dictionary<string, string>());
        var forged = Of("hash_sha256").Loop(60).WithCgroup("0::/user.slice/user-1001.slice/user@1001.service/app.slice/slurm/job_4242\n");

        var mapped = Run(forged, Job, policy);
        var violation = Assert.Single(mapped.Opened, v => v.Rule == PolicyRule.HashCompute);
        Assert.False(violation.IsAllowed);
        Assert.Equal("77", violation.Job);
        Assert.Contains(violation.Evidence, e => e.Contains("claims job 4242 (cgroup-claim, a source the process controls) but the GPU is allocated to job 77", StringComparison.Ordinal));
        Assert.Contains(mapped.Opened, v => v.Rule == PolicyRule.UnattributedProcess);

        // Without a GPU map the claim names no job at all.
        var unmapped = Run(forged, null, policy);
        var orphan = Assert.Single(unmapped.Opened, v => v.Rule == PolicyRule.HashCompute);
        Assert.False(orphan.IsAllowed);
        Assert.Null(orphan.Job);
    }

    [Fact]
    public void The_scheduler_cgroup_of_the_allowed_job_is_trusted_and_its_hashing_is_an_allowed_finding()
    {
        var policy = PolicyParser.Parse("policy.json", """
            { "allowances": [ { "rules": ["hash_compute"], "job": "4242", "reason": "dedup hashes shards" } ] }
            """, new Dictionary<string, string>());
        var real = Of("hash_sha256").Loop(60).WithCgroup("0::/system.slice/slurmstepd.scope/job_4242/step_0/user/task_0\n");

        var finding = Assert.Single(Run(real, null, policy).Opened, v => v.Rule == PolicyRule.HashCompute);

        Assert.True(finding.IsAllowed);
        Assert.Equal("4242", finding.Job);
    }

    [Fact]
    public void A_miner_in_the_neighbour_of_an_allowed_job_is_not_allowed()
    {
        var policy = PolicyParser.Parse("policy.json", """
            { "allowances": [ { "rules": ["hash_compute"], "job": "4242", "reason": "dedup hashes shards" } ] }
            """, new Dictionary<string, string>());
        var dedup = new JobRef("4242", JobSources.GpuMap, "alice");
        var neighbour = Of("hash_memhard").Loop(60).WithCgroup("0::/user.slice/user-1001.slice/user@1001.service/slurm/job_4242\n");

        var result = Run([new RedTeamGpu(Of("hash_sha256").Loop(60), dedup), new RedTeamGpu(neighbour, Job)], policy);

        var hash = result.Opened.Where(v => v.Rule == PolicyRule.HashCompute).ToDictionary(v => v.Gpu);
        Assert.True(hash[0].IsAllowed);
        Assert.False(hash[1].IsAllowed);
        Assert.Equal("77", hash[1].Job);
    }

    [Fact]
    public void A_miner_time_sliced_behind_a_training_process_is_pinned_on_its_own_pid()
    {
        double[] shares = [0.3, 0.5, 0.4, 0.6, 0.35, 0.55, 0.45];
        var result = Run(Of("hash_sha256").WithoutIdentity().Behind(Of("train_transformer"), shares, 90), Job);

        // Before the split separates them the GPU as a whole is hash-like with both pids as candidates;
        // the violation names the miner, whose own verdict became hash, first.
        var violation = Assert.Single(result.Critical, v => v.Rule == PolicyRule.HashCompute);
        Assert.Equal(400_002, violation.Pid);
        Assert.Equal(400_002, violation.Pids[0]);
    }

    [Fact]
    public void Purpose_training_flags_non_ML_integer_compute_looped_for_30_minutes()
    {
        var result = Run(Of("sort_ints").Loop(1800), TrainingJob);

        var violation = Assert.Single(result.Opened, v => v.Rule == PolicyRule.DivertedCompute);
        Assert.Equal((Severity.Warning, "4242"), (violation.Severity, violation.Job));
        Assert.True(result.DivertedSeconds > 600, $"diverted {result.DivertedSeconds:0} s");
        Assert.DoesNotContain(result.Opened, v => v.Rule == PolicyRule.HashCompute);
    }

    [Theory]
    [InlineData("train_transformer")]
    [InlineData("train_cnn")]
    [InlineData("train_fp32_mlp")]
    [InlineData("train_input_bound")]
    [InlineData("infer_bf16")]
    [InlineData("infer_int8")]
    public void Purpose_training_leaves_training_and_evaluation_looped_for_30_minutes_alone(string recording)
    {
        var result = Run(Of(recording).Loop(1800), TrainingJob);

        Assert.Empty(result.Opened);
        Assert.Equal(0, result.DivertedSeconds);
    }

    [Fact]
    public void Purpose_compute_leaves_integer_compute_alone_and_still_flags_hashing()
    {
        var compute = new JobRef("55", JobSources.GpuMap, "carol") { Purpose = JobPurpose.Compute };

        Assert.Empty(Run(Of("sort_ints").Loop(1800), compute).Opened);
        var hashing = Run(Of("hash_sha256").Loop(900), compute);
        Assert.Equal(Severity.Critical, hashing.Opened.Single(v => v.Rule == PolicyRule.DivertedCompute).Severity);
    }

    [Fact]
    public void The_idle_recording_looped_on_an_allocated_GPU_opens_idle_allocation_only()
    {
        var result = Run(Of("idle").PolledEverySecond().Loop(1800), TrainingJob);

        Assert.Equal([PolicyRule.IdleAllocation], result.Opened.Select(v => v.Rule));
    }

    [Fact]
    public void Training_looped_with_its_start_up_idle_seconds_never_opens_idle_allocation()
    {
        foreach (var recording in (string[])["train_transformer", "train_cnn", "train_input_bound"])
        {
            Assert.DoesNotContain(Run(Of(recording).Loop(1800), TrainingJob).Opened, v => v.Rule == PolicyRule.IdleAllocation);
        }
    }

    [Fact]
    public void Every_gpu_classed_hash_for_15_s_has_an_open_violation_naming_its_job()
    {
        foreach (var n in (int[])[9, 16, 32])
        {
            RedTeamGpu[] gpus =
            [
                new(Of("hash_sha256").Loop(120).ManyProcesses(n), new JobRef("100", JobSources.GpuMap)),
                new(Of("train_transformer").Loop(120).ManyProcesses(n), new JobRef("101", JobSources.GpuMap)),
                new(Of("hash_memhard").Loop(120).ManyProcesses(n, seed: 3), new JobRef("102", JobSources.GpuMap)),
                new(Of("mixed").Loop(120).ManyProcesses(n), new JobRef("103", JobSources.GpuMap)),
            ];
            var result = Run(gpus);

            for (var g = 0; g < gpus.Length; g++)
            {
                var tick = result.HashedFor(g, 15);
                if (tick < 0)
                {
                    continue;
                }

                var job = gpus[g].Job!.Id;
                Assert.Contains(result.ActiveByTick[tick], v => v.Gpu == g && v.Rule == PolicyRule.HashCompute && v.Job == job);
            }

            Assert.True(result.HashedFor(0, 15) >= 0 && result.HashedFor(2, 15) >= 0, "the hash GPUs were classed hash");
            Assert.Equal(-1, result.HashedFor(1, 1));
        }
    }
}
