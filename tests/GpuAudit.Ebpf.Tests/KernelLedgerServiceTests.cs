using GpuAudit.Core.Kernels;

namespace GpuAudit.Ebpf.Tests;

/// <summary>One ledger (real BPF program, real uprobes) for the live tests of this class.</summary>
public sealed class LedgerFixture : IDisposable
{
    private readonly Lazy<KernelLedgerService> _service = new(() =>
        KernelLedgerService.Start("/proc", TimeProvider.System, message => Log.Add(message)));

    public static List<string> Log { get; } = [];

    public KernelLedgerService Service => _service.Value;

    public void Dispose()
    {
        if (_service.IsValueCreated)
        {
            _service.Value.Dispose();
        }
    }
}

/// <summary>
/// The kernel ledger end to end on this machine's kernel: launcher programs against the stand-in
/// libcuda, each lookup API with each launch entry point, a process that looked its kernels up
/// before the probes attached, a second libcuda file in a private mount namespace, and each module
/// load entry point with the image it loaded.
/// </summary>
[Trait("Category", "Integration")]
public sealed class KernelLedgerServiceTests(LedgerFixture fixture) : IClassFixture<LedgerFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-ledger-test-").FullName;

    [EbpfTheory]
    [InlineData("kernel", CudaEntryPoint.LaunchKernel)]
    [InlineData("kernel-ptsz", CudaEntryPoint.LaunchKernelPtsz)]
    [InlineData("ex", CudaEntryPoint.LaunchKernelEx)]
    [InlineData("ex-ptsz", CudaEntryPoint.LaunchKernelExPtsz)]
    [InlineData("coop", CudaEntryPoint.LaunchCooperativeKernel)]
    [InlineData("coop-ptsz", CudaEntryPoint.LaunchCooperativeKernelPtsz)]
    public async Task Every_lookup_api_names_what_each_launch_entry_point_launches(string launch, CudaEntryPoint entry)
    {
        var (pid, counts) = await RunLauncherAsync(["--launch", launch, "--count", "300", "--rate", "0", $"module:mod_{launch}", "library:_Z10lib_kernelPf", $"kernel-function:kf_{launch}"]);

        var process = fixture.Service.Snapshot.Processes[pid];
        Assert.Equal(3, process.Kernels.Count);
        foreach (var (name, launched) in counts)
        {
            var kernel = Assert.Single(process.Kernels, k => k.RawName == name);
            Assert.Equal(launched, kernel.Launches);
            Assert.Equal(KernelNameSource.Lookup, kernel.NameSource);
            Assert.Equal([entry], kernel.EntryPoints);
        }

        Assert.Equal(900, process.TotalLaunches);
        Assert.Equal(0, process.UnnamedLaunches);
    }

    [EbpfTheory]
    [InlineData("graph", CudaEntryPoint.GraphLaunch)]
    [InlineData("graph-ptsz", CudaEntryPoint.GraphLaunchPtsz)]
    public async Task Graph_launches_are_counted_per_graph(string launch, CudaEntryPoint entry)
    {
        var (pid, _) = await RunLauncherAsync(["--launch", launch, "--count", "120", "--rate", "0", "module:in_graph"]);

        var graph = Assert.Single(fixture.Service.Snapshot.Processes[pid].Kernels);
        Assert.Equal(120, graph.Launches);
        Assert.True(graph.Graph);
        Assert.Equal([entry], graph.EntryPoints);
        Assert.StartsWith("(CUDA graph 0x", graph.DisplayName, StringComparison.Ordinal);
    }

    [EbpfTheory]
    [InlineData("data", CudaEntryPoint.ModuleLoadData, "module")]
    [InlineData("data-ex", CudaEntryPoint.ModuleLoadDataEx, "module")]
    [InlineData("fatbin", CudaEntryPoint.ModuleLoadFatBinary, "module")]
    [InlineData("data", CudaEntryPoint.LibraryLoadData, "library")]
    public async Task Module_loads_hand_the_exact_image_to_the_reader(string load, CudaEntryPoint entry, string api)
    {
        // Paced: the image is read from the process after the load event, so it must still be alive.
        var (pid, _) = await RunLauncherAsync(["--load", load, "--sha256", "--count", "5", "--rate", "5", $"{api}:sha_step"]);

        var process = fixture.Service.Snapshot.Processes[pid];
        var module = Assert.Single(process.Modules);
        Assert.Equal(entry, module.Entry);
        Assert.NotNull(module.Code);
        Assert.Equal((long)module.Image, module.Code.Address);
        Assert.Equal(["sha_step"], module.Code.Kernels);
        var kernel = Assert.Single(process.Kernels);
        Assert.Equal(["sha256"], kernel.ImageHashAlgorithms);
        Assert.Same(module, kernel.Module);
    }

    [EbpfFact]
    public async Task A_process_that_looked_up_before_the_probes_attached_gets_counts_without_names()
    {
        // Its own copy of the library (another inode): the shared one may carry probes already.
        var copy = Directory.CreateDirectory(Path.Combine(_dir, "late")).FullName;
        File.Copy(CudaStubPrograms.Library, Path.Combine(copy, "libcuda.so.1"));
        var go = Path.Combine(_dir, "go-late");
        using var launcher = CudaStubPrograms.Start(["--early", "--go", go, "--count", "200", "--rate", "0", "module:early_a", "library:early_b"], copy);

        fixture.Service.Watch(launcher.Pid);
        await fixture.Service.RefreshAsync().WaitAsync(Timeout);
        File.WriteAllText(go, string.Empty);
        launcher.WaitForCounts(Timeout);
        await fixture.Service.RefreshAsync().WaitAsync(Timeout);

        var process = fixture.Service.Snapshot.Processes[launcher.Pid];
        Assert.Equal(2, process.Kernels.Count);
        Assert.All(process.Kernels, k => Assert.Equal((KernelNameSource.None, (string?)null, 200L), (k.NameSource, k.Name, k.Launches)));
        Assert.Equal(400, process.UnnamedLaunches);
        Assert.Contains(launcher.Pid, fixture.Service.Snapshot.CoveredSince.Keys);
    }

    [EbpfFact]
    public async Task A_libcuda_only_visible_in_a_private_mount_namespace_is_attached_through_proc()
    {
        var mount = Directory.CreateDirectory(Path.Combine(_dir, "container-lib")).FullName;
        var go = Path.Combine(_dir, "go-container");
        var script = $"mount -t tmpfs none {mount} && cp {CudaStubPrograms.Library} {mount}/libcuda.so.1 && exec env LD_LIBRARY_PATH={mount} {CudaStubPrograms.Launcher} --go {go} --count 250 --rate 0 module:in_container";
        using var launcher = CudaStubPrograms.StartCommand(["unshare", "--mount", "--propagation", "private", "sh", "-c", script]);

        // The host sees an empty directory where the process sees its libcuda.
        Assert.False(File.Exists(Path.Combine(mount, "libcuda.so.1")));
        var before = (await SnapshotAfterRefreshAsync()).Libraries.Count;
        fixture.Service.Watch(launcher.Pid);
        var attached = await SnapshotAfterRefreshAsync();
        File.WriteAllText(go, string.Empty);
        var counts = launcher.WaitForCounts(Timeout);
        var snapshot = await SnapshotAfterRefreshAsync();

        Assert.Equal(before + 1, attached.Libraries.Count);
        Assert.Contains(attached.Libraries, l => l.StartsWith(mount + "/libcuda.so.1 (", StringComparison.Ordinal));
        var kernel = Assert.Single(snapshot.Processes[launcher.Pid].Kernels);
        Assert.Equal(("in_container", counts["in_container"]), (kernel.Name, kernel.Launches));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<KernelLedgerSnapshot> SnapshotAfterRefreshAsync()
    {
        await fixture.Service.RefreshAsync().WaitAsync(Timeout);
        return fixture.Service.Snapshot;
    }

    private async Task<(int Pid, Dictionary<string, long> Counts)> RunLauncherAsync(string[] arguments)
    {
        var go = Path.Combine(_dir, "go-" + Guid.NewGuid().ToString("n"));
        using var launcher = CudaStubPrograms.Start(["--go", go, .. arguments]);
        fixture.Service.Watch(launcher.Pid);
        await fixture.Service.RefreshAsync().WaitAsync(Timeout);
        File.WriteAllText(go, string.Empty);
        var counts = launcher.WaitForCounts(Timeout);
        await fixture.Service.RefreshAsync().WaitAsync(Timeout);
        Assert.Contains(launcher.Pid, fixture.Service.Snapshot.CoveredSince.Keys);
        return (launcher.Pid, counts);
    }
}
