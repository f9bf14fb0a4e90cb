using GpuAudit.Core.Kernels;

namespace GpuAudit.Ebpf.Tests;

/// <summary>The pure join of probe events and launch counters (no BPF).</summary>
public sealed class KernelLedgerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Names_from_each_lookup_api_and_aliases_label_the_counters()
    {
        var ledger = new KernelLedger();
        ledger.Apply(Event(CudaEntryPoint.ModuleLoadData, 10, handle: 0xA0, image: 0x5000));
        ledger.Apply(Event(CudaEntryPoint.ModuleGetFunction, 10, handle: 0x100, owner: 0xA0, name: "_Z3addPfS_i"));
        ledger.Apply(Event(CudaEntryPoint.LibraryGetKernel, 10, handle: 0x200, owner: 0xB0, name: "ethash_search"));
        ledger.Apply(Event(CudaEntryPoint.KernelGetFunction, 10, handle: 0x300, owner: 0x200));

        var built = ledger.Build(
        [
            Counter(10, CudaEntryPoint.LaunchKernel, 0x100, 5),
            Counter(10, CudaEntryPoint.LaunchKernel, 0x200, 7),
            Counter(10, CudaEntryPoint.LaunchKernelEx, 0x300, 4),
            Counter(10, CudaEntryPoint.LaunchKernel, 0x999, 2),
        ]);

        var process = built[10];
        Assert.Equal(18, process.TotalLaunches);
        Assert.Equal(2, process.UnnamedLaunches);
        Assert.Equal(["ethash_search", "add(float*, float*, int)", "(unnamed 0x999)"], process.Kernels.Select(k => k.DisplayName));
        var ethash = process.Kernels[0];
        Assert.Equal(11, ethash.Launches);
        Assert.Equal([CudaEntryPoint.LaunchKernel, CudaEntryPoint.LaunchKernelEx], ethash.EntryPoints);
        Assert.Equal(0x5000UL, process.Kernels[1].Module?.Image);
        Assert.Null(ethash.Module);
    }

    [Fact]
    public void First_and_last_seen_span_every_counter_of_a_kernel()
    {
        var ledger = new KernelLedger();
        ledger.Apply(Event(CudaEntryPoint.ModuleGetFunction, 1, handle: 0x1, name: "k"));
        ledger.Apply(Event(CudaEntryPoint.ModuleGetFunction, 1, handle: 0x2, name: "k"));

        var kernel = Assert.Single(ledger.Build(
        [
            new LaunchCounter(1, CudaEntryPoint.LaunchKernel, 0x1, 3, T0.AddSeconds(5), T0.AddSeconds(6)),
            new LaunchCounter(1, CudaEntryPoint.LaunchKernel, 0x2, 3, T0.AddSeconds(1), T0.AddSeconds(9)),
        ])[1].Kernels);

        Assert.Equal((6L, T0.AddSeconds(1), T0.AddSeconds(9)), (kernel.Launches, kernel.FirstSeen, kernel.LastSeen));
    }

    [Fact]
    public void The_overflow_counter_and_forgotten_processes()
    {
        var ledger = new KernelLedger();
        ledger.Apply(Event(CudaEntryPoint.ModuleGetFunction, 2, handle: 0x1, name: "k"));
        var overflow = Assert.Single(ledger.Build([Counter(3, CudaEntryPoint.LaunchKernel, ulong.MaxValue, 9)])[3].Kernels);
        Assert.True(overflow.Overflow);
        Assert.Equal("(handles past the per-process limit)", overflow.DisplayName);

        ledger.Forget(2);
        Assert.Null(ledger.Build([Counter(2, CudaEntryPoint.LaunchKernel, 0x1, 1)])[2].Kernels[0].Name);
    }

    [Fact]
    public void Processes_that_loaded_code_but_launched_nothing_are_listed()
    {
        var ledger = new KernelLedger();
        ledger.Apply(Event(CudaEntryPoint.LibraryLoadData, 4, handle: 0xC0, image: 0x9000));
        var process = ledger.Build([])[4];
        Assert.Empty(process.Kernels);
        Assert.Equal(0x9000UL, Assert.Single(process.Modules).Image);
    }

    private static LedgerEvent Event(CudaEntryPoint entry, int pid, ulong handle, ulong owner = 0, ulong image = 0, string? name = null) =>
        new(entry, pid, handle, owner, image, T0, name);

    private static LaunchCounter Counter(int pid, CudaEntryPoint entry, ulong handle, long count) => new(pid, entry, handle, count, T0, T0.AddSeconds(1));
}
