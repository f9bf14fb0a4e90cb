namespace GpuAudit.Linux.Tests;

public class ProcessInspectorFixtureTests
{
    private static ProcessInspector Inspector(params string[] allow) => new(Fixtures.ProcRoot, new InspectorOptions
    {
        PasswdPath = Fixtures.Passwd,
        EgressAllowlist = InspectorOptions.ParseAllowlist(allow),
    });

    [Fact]
    public void Miner_in_a_slurm_job_is_identified_with_its_job_user_and_parent_chain()
    {
        var inspection = Inspector().Inspect(Fixtures.MinerPid)!;

        Assert.Equal("xmrig", inspection.Comm);
        Assert.Equal("/tmp/.x/xmrig", inspection.Identity.Exe);
        Assert.Equal("/tmp/.x/xmrig -o stratum+tcp://***@203.0.113.5:3333 --donate-level 1", inspection.Identity.Cmdline);
        Assert.Equal(1000, inspection.Uid);
        Assert.Equal("alice", inspection.User);
        Assert.Equal(new JobRef("777", "slurm-cgroup", "alice"), inspection.Job);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1764000000 + 30), inspection.StartTime);

        // The chain stops at the job script: slurmstepd (4100) is in another cgroup.
        Assert.Equal([4200], inspection.ParentChain.Select(p => p.Pid));
        Assert.Equal([4200, 4242, 4250], inspection.Tree.Select(p => p.Pid).Order());
    }

    [Fact]
    public void Miner_libraries_connections_and_tunnel_in_the_job_become_findings()
    {
        var inspection = Inspector("10.0.0.0/8").Inspect(Fixtures.MinerPid)!;

        Assert.Equal(["libcuda.so.580.159.04", "libxmrig-cuda.so"], inspection.Identity.GpuLibs);
        Assert.Equal(["libxmrig-cuda.so"], inspection.Libraries.MinerPlugins);

        // Outbound only: the socket accepted on the listening port 8080 (inode 5004) is inbound.
        Assert.Equal(
            [(4242, "203.0.113.5:3333", true, false), (4242, "10.0.0.7:443", false, true), (4250, "198.58.100.9:2222", false, false)],
            inspection.Connections.Select(c => (c.Pid, c.Remote.ToString(), c.PoolPort, c.Allowlisted!.Value)));

        Assert.Equal(
            [
                FindingKind.MinerExecutable, FindingKind.MinerCommandLine, FindingKind.MinerLibrary, FindingKind.Tunnel,
                FindingKind.PoolPortConnection, FindingKind.NonAllowlistedEgress, FindingKind.NonAllowlistedEgress,
            ],
            inspection.Findings.Select(f => f.Kind));
        Assert.Equal("ssh -R 9000:localhost:22 (pid 4250)", inspection.Findings.Single(f => f.Kind == FindingKind.Tunnel).Detail);
    }

    [Fact]
    public void Without_an_allowlist_no_connection_is_judged_against_one()
    {
        var inspection = Inspector().Inspect(Fixtures.MinerPid)!;

        Assert.All(inspection.Connections, c => Assert.Null(c.Allowlisted));
        Assert.DoesNotContain(inspection.Findings, f => f.Kind == FindingKind.NonAllowlistedEgress);
    }

    [Fact]
    public void Job_from_the_environment_when_the_cgroup_names_none_and_tree_is_the_process_and_its_children()
    {
        var inspection = Inspector().Inspect(Fixtures.TrainerPid)!;

        Assert.Equal(new JobRef("888", "slurm-env"), inspection.Job);
        Assert.Null(inspection.User);
        Assert.Equal(1001, inspection.Uid);
        Assert.Equal("python3 train.py --hf-token ***", inspection.Identity.Cmdline);
        Assert.Equal(["pytorch"], inspection.Libraries.Frameworks);
        Assert.Empty(inspection.ParentChain);
        Assert.Equal([4300, 4301], inspection.Tree.Select(p => p.Pid));
        Assert.Equal("10.0.0.8:80", Assert.Single(inspection.Connections).Remote.ToString());
        Assert.Empty(inspection.Findings);
    }

    [Fact]
    public void Missing_process_is_null()
    {
        Assert.Null(Inspector().Inspect(99999));
    }

    [Fact]
    public void Describe_captures_the_trace_process_record_and_it_is_the_inspection_identity()
    {
        var record = Inspector().Describe(Fixtures.MinerPid)!;

        Assert.Equal(4200, record.Ppid);
        Assert.Equal("xmrig", record.Comm);
        Assert.Equal("/tmp/.x/xmrig", record.Exe);
        Assert.DoesNotContain("s3cr3tpw", record.Cmdline, StringComparison.Ordinal);
        Assert.Equal("0::/system.slice/slurmstepd.scope/job_777/step_0/user/task_0\n", record.Cgroup);
        Assert.Equal(["libcuda.so.580.159.04", "libxmrig-cuda.so"], record.GpuLibs);
        Assert.Null(Inspector().Describe(99999));
        var identity = Inspector().Inspect(Fixtures.MinerPid)!.Identity;
        Assert.Equal((record.Ppid, record.Comm, record.Exe, record.Cmdline, record.Cgroup), (identity.Ppid, identity.Comm, identity.Exe, identity.Cmdline, identity.Cgroup));
        Assert.Equal(record.GpuLibs, identity.GpuLibs);
    }

    [Fact]
    public void Replay_and_live_inspection_agree_on_identity_findings()
    {
        var live = Inspector().Inspect(Fixtures.MinerPid)!;

        // What a replay of the process line the agent would record makes of it.
        var replayed = ProcessAnalyzer.Analyze(Inspector().Describe(Fixtures.MinerPid)!);

        Assert.Equal(
            [FindingKind.MinerExecutable, FindingKind.MinerCommandLine, FindingKind.MinerLibrary],
            replayed.Findings.Select(f => f.Kind));
        Assert.Equal(replayed.Findings, live.Findings.Take(replayed.Findings.Count));
        Assert.Equal(replayed.Libraries.MinerPlugins, live.Libraries.MinerPlugins);
        Assert.Equal(new JobRef("777", "slurm-cgroup"), replayed.Job);
    }

    [Fact]
    public void Bad_allowlist_entry_names_itself()
    {
        var error = Assert.Throws<FormatException>(() => InspectorOptions.ParseAllowlist(["10.0.0.0/33"]));

        Assert.Contains("'10.0.0.0/33'", error.Message, StringComparison.Ordinal);
    }
}
