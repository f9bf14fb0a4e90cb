namespace GpuAudit.Linux.Tests;

/// <summary>
/// Issue 12 items 1 and 9: procfs content a watched process (or a hostile --proc-root tree) controls
/// must neither hang nor crash the inspector and the scanner. Each call runs under a generous
/// deadline so a regression fails the test instead of hanging the suite.
/// </summary>
public sealed class HostileProcfsTests : IDisposable
{
    private const int Pid = 4242;

    private readonly FakeProcTree _tree = new();

    [Theory]
    [InlineData("cmdline")]
    [InlineData("environ")]
    [InlineData("stat")]
    [InlineData("maps")]
    [InlineData("cgroup")]
    public async Task A_fifo_in_place_of_a_procfs_file_is_skipped_not_waited_on(string name)
    {
        _tree.Process(Pid).Fifo(Pid, name);

        var inspection = await Task.Run(() => new ProcessInspector(_tree.Root).Inspect(Pid)).WaitAsync(Poll.Deadline);

        if (name == "stat")
        {
            // Without a stat there is no process to describe: the same answer as a vanished pid.
            Assert.Null(inspection);
            return;
        }

        Assert.NotNull(inspection);
        Assert.Contains(inspection.Unreadable, u => u.StartsWith("skipped: " + _tree.PathOf(Pid, name) + " is not a regular file", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_fifo_in_place_of_mem_is_skipped_by_the_scanner()
    {
        _tree.Process(Pid).File(Pid, "maps", "7f0000000000-7f0000001000 rw-p 00000000 00:00 0\n").Fifo(Pid, "mem");

        var scan = await Task.Run(() => new GpuCodeScanner(_tree.Root, time: new FakeTimeProvider()).Scan(Pid)).WaitAsync(Poll.Deadline);

        Assert.NotNull(scan);
        Assert.Empty(scan.Images);
        Assert.Contains(scan.Unreadable, u => u.Contains("/mem is not a regular file", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Maps_ranges_above_two_to_the_63_are_read_as_unreadable_not_thrown()
    {
        _tree.Process(Pid)
            .File(Pid, "maps", "8000000000000000-8000000000100000 r--p 00000000 00:00 0\nfffffffffffff000-ffffffffffffffff r--p 00000000 00:00 0\n")
            .File(Pid, "mem", new byte[4096]);
        var scans = new GpuCodeScanService(new GpuCodeScanner(_tree.Root, time: new FakeTimeProvider()), new FakeTimeProvider());
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() => scans.RunAsync(stop.Token));

        scans.Request(Pid);
        var result = await Poll.UntilAsync(() => scans.Latest(Pid), "scan result");

        Assert.Empty(result.Images);
        Assert.Empty(result.Unreadable);
        Assert.False(loop.IsCompleted, "the background scan loop ended");
        await stop.CancelAsync();
        await loop.WaitAsync(Poll.Deadline);
    }

    [Fact]
    public async Task An_oversized_command_line_is_read_up_to_its_cap_and_its_cut_argument_is_never_shown()
    {
        // 8 MiB of arguments; the last one that fits is cut inside a token that would be redacted whole.
        var filler = new string('a', 100_000);
        var cut = "ghp_" + new string('Z', ProcFileSystem.MaxCommandLineBytes);
        _tree.Process(Pid).File(Pid, "cmdline", "python3\0--token\0hunter2\0" + cut + "\0" + string.Join('\0', Enumerable.Repeat(filler, 80)) + "\0");

        var inspection = (await Task.Run(() => new ProcessInspector(_tree.Root).Inspect(Pid)).WaitAsync(Poll.Deadline))!;

        Assert.Equal("python3 --token *** …[command line longer than 64 KiB; the rest was not read]", inspection.Identity.Cmdline);
        Assert.DoesNotContain("ZZZZ", inspection.Identity.Cmdline, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oversized_and_garbage_files_do_not_break_the_picture()
    {
        _tree.Process(Pid)
            .File(Pid, "status", new string('x', 1 << 20))
            .File(Pid, "maps", string.Concat(Enumerable.Repeat("zzzz-yyyy ---- nothing\n", 200_000)))
            .File(Pid, "cgroup", new string('/', 1 << 20))
            .File(Pid, "environ", "SLURM_JOB_ID=" + new string('9', 1 << 20));

        var inspection = (await Task.Run(() => new ProcessInspector(_tree.Root).Inspect(Pid)).WaitAsync(Poll.Deadline))!;

        Assert.Equal("victim", inspection.Comm);
        Assert.Null(inspection.Uid);
        Assert.Null(inspection.Job);
        Assert.Empty(inspection.Identity.GpuLibs);
    }

    [Fact]
    public async Task Forged_start_and_boot_times_give_no_start_time_instead_of_an_overflow()
    {
        _tree.Process(Pid).File(Pid, "stat", "4242 (victim) S 1 4242 1 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 18446744073709551615 1000000 100 1 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n");
        File.WriteAllText(Path.Combine(_tree.Root, "stat"), "btime 99999999999999999\n");

        var inspection = (await Task.Run(() => new ProcessInspector(_tree.Root).Inspect(Pid)).WaitAsync(Poll.Deadline))!;

        Assert.Null(inspection.StartTime);
        Assert.Equal("victim", inspection.Comm);
    }

    [Fact]
    public async Task A_fifo_in_the_job_map_directory_is_skipped()
    {
        var map = Directory.CreateDirectory(Path.Combine(_tree.Root, "jobmap")).FullName;
        File.WriteAllText(Path.Combine(map, "0"), "777 1000\n");
        _tree.Process(1);
        var fifo = Path.Combine(map, "1");
        var start = new System.Diagnostics.ProcessStartInfo("mkfifo") { ArgumentList = { fifo } };
        using (var mkfifo = System.Diagnostics.Process.Start(start)!)
        {
            Assert.True(mkfifo.WaitForExit(Poll.Deadline), "mkfifo did not exit within " + Poll.Deadline);
        }

        var jobs = await Task.Run(() => new GpuJobMapReader(map).Read()).WaitAsync(Poll.Deadline);

        Assert.Equal(["0"], jobs.Keys);
    }

    public void Dispose() => _tree.Dispose();
}
