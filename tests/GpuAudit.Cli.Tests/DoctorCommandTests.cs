using GpuAudit.Cli.Commands;

namespace GpuAudit.Cli.Tests;

public sealed class DoctorCommandTests : IDisposable
{
    private const string MissingLibrary = "/nonexistent/libnvidia-ml.so.1";
    private readonly string _procRoot = Directory.CreateTempSubdirectory("gpuaudit-proc-").FullName;

    [Fact]
    public void Without_nvml_doctor_prints_the_fix_and_the_demo_and_fails()
    {
        // Another user's process whose environ, maps and memory are readable, so only NVML is missing.
        var pid = Process(4321, uid: 54321);
        File.WriteAllText(Path.Combine(pid, "environ"), "SLURM_JOB_ID=7\0");
        File.WriteAllText(Path.Combine(pid, "maps"), "00400000-00401000 r-xp 00000000 00:00 0 /usr/bin/python3\n");
        using (var mem = File.Create(Path.Combine(pid, "mem")))
        {
            mem.SetLength(0x401000);
        }

        using var output = new StringWriter();
        var exitCode = DoctorCommand.Run(output, MissingLibrary, _procRoot, Path.Combine(_procRoot, "kubelet.sock"));

        Assert.Equal(1, exitCode);
        Golden.AssertMatches("tests/GpuAudit.Cli.Tests/Golden/doctor-no-nvml.txt", output.ToString().Replace(_procRoot, "PROC", StringComparison.Ordinal));
    }

    [Fact]
    public void A_pod_resources_socket_nobody_answers_on_is_a_problem_with_the_mount_fix()
    {
        var socket = Path.Combine(_procRoot, "kubelet.sock");
        File.WriteAllText(socket, string.Empty);

        using var output = new StringWriter();
        var exitCode = DoctorCommand.Run(output, MissingLibrary, _procRoot, socket, Path.Combine(_procRoot, "pods"));

        var text = output.ToString();
        Assert.Equal(1, exitCode);
        Assert.Contains($"[FAIL] kubelet pod-resources {socket}: the kubelet does not answer on the socket", text, StringComparison.Ordinal);
        TextAssert.ContainsAll(
            text,
            "fix: mount the host's /var/lib/kubelet/pod-resources",
            "[warn] pod log directory");
    }

    [Fact]
    public void Unreadable_proc_entries_of_another_users_process_are_problems_with_the_capability_fix()
    {
        Process(1, uid: 0); // never tried: pid 1 says nothing about GPU jobs
        Process(777, uid: 54321);

        using var output = new StringWriter();
        DoctorCommand.Run(output, MissingLibrary, _procRoot);

        var text = output.ToString();
        Assert.Contains("[ok]   trying pid 777 (owned by uid 54321, another user)", text, StringComparison.Ordinal);
        Assert.Contains($"[FAIL] {_procRoot}/777/mem not readable", text, StringComparison.Ordinal);
        Assert.Contains("fix: run gpuaudit as root, or grant CAP_SYS_PTRACE", text, StringComparison.Ordinal);
        Assert.DoesNotContain($"{_procRoot}/1/", text, StringComparison.Ordinal);
        Assert.EndsWith("doctor: 4 problem(s), 0 warning(s)" + Environment.NewLine, text, StringComparison.Ordinal);
    }

    [Fact]
    public void With_no_other_users_process_doctor_says_proc_is_unchecked_instead_of_failing_on_pid_1()
    {
        Process(1, uid: 0);

        using var output = new StringWriter();
        DoctorCommand.Run(output, MissingLibrary, _procRoot);

        Assert.Contains("[warn] no GPU process and no other user's process to try", output.ToString(), StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_procRoot, recursive: true);

    private string Process(int pid, int uid)
    {
        var dir = Path.Combine(_procRoot, pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "status"), $"Name:\tpython3\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n");
        return dir;
    }
}
