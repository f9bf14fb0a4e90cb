namespace GpuAudit.Linux.Tests;

/// <summary>
/// The fake procfs tree under Fixtures/proc, read in place from the source tree (its exe and fd
/// entries are symlinks such as socket:[5001], which copying would resolve or drop).
/// </summary>
internal static class Fixtures
{
    public static string ProcRoot { get; } = RepoPaths.File("tests", "GpuAudit.Linux.Tests", "Fixtures", "proc");

    public static string Passwd { get; } = RepoPaths.File("tests", "GpuAudit.Linux.Tests", "Fixtures", "passwd");

    /// <summary>The Slurm job 777: script 4200, miner 4242 (GPU process), ssh tunnel 4250.</summary>
    public const int MinerPid = 4242;

    public const int TunnelPid = 4250;

    /// <summary>A PyTorch process outside any job cgroup, with SLURM_JOB_ID=888 in its environment.</summary>
    public const int TrainerPid = 4300;
}
