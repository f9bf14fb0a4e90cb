namespace GpuAudit.Core.Tests.Inspection;

public class CgroupIdentityTests
{
    [Fact]
    public void Slurm_cgroup_v1_path_names_the_job()
    {
        var identity = CgroupIdentity.Parse("4:memory:/slurm/uid_1000/job_4242/step_0/task_0\n0::/\n");

        Assert.Equal("4242", identity.SlurmJobId);
        Assert.Equal(new JobRef("4242", "slurm-cgroup"), identity.Job);
    }

    [Fact]
    public void Slurm_cgroup_v2_path_names_the_job()
    {
        Assert.Equal("17", CgroupIdentity.Parse("0::/system.slice/slurmstepd.scope/job_17/step_batch/user/task_0\n").SlurmJobId);
    }

    [Fact]
    public void Kubernetes_systemd_path_names_pod_and_container()
    {
        const string Container = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        var identity = CgroupIdentity.Parse(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d.slice/cri-containerd-" + Container + ".scope\n");

        Assert.Equal("1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d", identity.PodUid);
        Assert.Equal(Container, identity.ContainerId);
        Assert.Equal("kubernetes", identity.Job?.Source);
    }

    [Fact]
    public void Docker_cgroupfs_path_names_the_container_and_no_job()
    {
        const string Container = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
        var identity = CgroupIdentity.Parse("12:pids:/docker/" + Container + "\n");

        Assert.Equal(Container, identity.ContainerId);
        Assert.Null(identity.Job);
    }

    [Theory]
    [InlineData("0::/user.slice/user-1000.slice/user@1000.service/app.slice/slurm/job_4242\n")]
    [InlineData("0::/user.slice/user-1000.slice/session-3.scope/slurmstepd.scope/job_4242/step_0\n")]
    [InlineData("4:memory:/home/alice/slurm/uid_1000/job_4242\n")]
    [InlineData("0::/system.slice/docker-0123.scope/slurm/uid_1000/job_4242\n")]
    public void A_job_path_the_process_could_have_made_is_a_claim_never_a_trusted_job(string cgroup)
    {
        var identity = CgroupIdentity.Parse(cgroup);

        Assert.Null(identity.SlurmJobId);
        Assert.Equal(new JobRef("4242", "cgroup-claim"), identity.Job);
        Assert.False(identity.Job!.IsTrusted);
    }

    [Fact]
    public void A_sub_cgroup_a_job_creates_under_its_own_cannot_name_another_job()
    {
        Assert.Equal("17", CgroupIdentity.Parse("0::/system.slice/slurmstepd.scope/job_17/step_0/user/job_4242\n").SlurmJobId);
    }

    [Fact]
    public void A_pod_path_outside_the_kubelet_hierarchy_is_a_claim()
    {
        var identity = CgroupIdentity.Parse("0::/user.slice/user-1000.slice/user@1000.service/kubepods/pod1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d/x\n");

        Assert.Null(identity.PodUid);
        Assert.Equal("cgroup-claim", identity.Job!.Source);
    }

    [Fact]
    public void Recorded_trace_cgroups_name_no_job()
    {
        var recorded = GpuAudit.Core.Trace.RecordedTrace.Load(GpuAudit.Tests.RepoPaths.Trace("mixed"));

        Assert.All(recorded.Processes, p => Assert.Equal(CgroupIdentity.None, CgroupIdentity.Parse(p.Cgroup)));
    }
}
