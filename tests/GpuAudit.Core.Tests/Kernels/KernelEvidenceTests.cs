using GpuAudit.Core.Kernels;

namespace GpuAudit.Core.Tests.Kernels;

/// <summary>What launched kernels say about a process: the ledger's findings and the driver-bypass rule.</summary>
public sealed class KernelEvidenceTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // Real PyTorch 2.x kernel names (as cuModuleGetFunction sees them) for bitwise ops on int tensors.
    private const string XorKernel = "_ZN2at6native29vectorized_elementwise_kernelILi4ENS0_13BinaryFunctorIiiiNS0_17BitwiseXorFunctorIiEEEESt5arrayIPcLm3EEEEviT0_T1_";
    private const string ShiftKernel = "_ZN2at6native29vectorized_elementwise_kernelILi4EZZZNS0_18lshift_kernel_cudaERNS_18TensorIteratorBaseEENKUlvE_clEvENKUlvE2_clEvEUliiE_St5arrayIPcLm3EEEEviT0_T1_";
    private const string GemmKernel = "ampere_sgemm_128x64_nn";

    [Fact]
    public void Integer_bit_operations_with_no_floating_point_kernel_are_hashing_as_framework_ops()
    {
        var findings = KernelEvidence.Findings(Process((XorKernel, 40_000), (ShiftKernel, 20_000), ("_ZN2at6native18elementwise_kernelILi128ELi2EZNS0_15gpu_kernel_implINS0_13AUnaryFunctorIiiiNS0_15AddFunctorIiEEEEEEvRNS_18TensorIteratorBaseERKT_EUliE_EEviT1_", 20_000)));

        var finding = Assert.Single(findings);
        Assert.Equal(FindingKind.IntegerOnlyKernels, finding.Kind);
        Assert.Contains("no floating-point kernel was launched", finding.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(GemmKernel)] // one GEMM: training that also xors masks
    [InlineData("_ZN2at6native29vectorized_elementwise_kernelILi4ENS0_11FillFunctorIfEESt5arrayIPcLm1EEEEviT0_T1_")] // a float fill
    public void Any_floating_point_kernel_clears_the_integer_only_rule(string floating)
    {
        Assert.Empty(KernelEvidence.Findings(Process((XorKernel, 50_000), (floating, 10))));
    }

    [Fact]
    public void A_few_integer_launches_or_mostly_unnamed_launches_say_nothing()
    {
        Assert.Empty(KernelEvidence.Findings(Process((XorKernel, 999))));
        var mostlyUnnamed = Process((XorKernel, 2_000)) with { TotalLaunches = 10_000 };
        Assert.Empty(KernelEvidence.Findings(mostlyUnnamed));
    }

    [Fact]
    public void A_launched_miner_kernel_and_a_kernel_from_an_image_with_hash_constants()
    {
        var image = new GpuCodeImage(GpuCodeKind.Ptx, 0x7000, 900, ["step"], [new HashConstantHit(HashConstants.Sha256, "SHA-256 round-constant table")]);
        var process = Process(("ethash_search", 5), ("step", 5)) is var p
            ? p with { Kernels = [p.Kernels[0], p.Kernels[1] with { Module = new ModuleLoad(CudaEntryPoint.ModuleLoadData, 0xA0, 0x7000, T0, image) }] }
            : null!;

        var findings = KernelEvidence.Findings(process);

        Assert.Equal([FindingKind.MinerKernelLaunched, FindingKind.HashKernelLaunched], findings.Select(f => f.Kind));
        Assert.Equal("launched miner kernels: ethash_search", findings[0].Detail);
        Assert.Equal("launched step, loaded from an image at 0x7000 holding sha256 constants", findings[1].Detail);
    }

    [Fact]
    public void Driver_bypass_needs_coverage_sm_activity_for_thirty_seconds_and_no_launch()
    {
        var rule = new DriverBypassRule();
        ProcessFinding? last = null;
        for (var s = 0; s <= 40; s++)
        {
            last = rule.Observe(1, T0.AddSeconds(s), 80, T0, null, "raw_ioctl");
            if (s < 34)
            {
                Assert.Null(last); // 5 s of grace, then 30 s of activity
            }
        }

        Assert.Equal(FindingKind.DriverBypass, last?.Kind);
        Assert.Null(rule.Observe(1, T0.AddSeconds(41), 80, T0, Process(("k", 1)), "raw_ioctl")); // a launch clears it
        Assert.Null(rule.Observe(2, T0.AddSeconds(60), 80, null, null, "uncovered"));
        for (var s = 0; s <= 60; s++)
        {
            Assert.Null(rule.Observe(3, T0.AddSeconds(s), 80, T0, null, "nvidia-cuda-mps-server"));
            Assert.Null(rule.Observe(4, T0.AddSeconds(s), 0, T0, null, "idle"));
        }
    }

    private static ProcessKernels Process(params (string Name, long Launches)[] kernels) => new()
    {
        Pid = 1,
        Kernels = [.. kernels.Select((k, i) => new KernelLaunches { Name = KernelNames.Demangle(k.Name), RawName = k.Name, Handle = (ulong)i + 1, Launches = k.Launches, FirstSeen = T0, LastSeen = T0 })],
        TotalLaunches = kernels.Sum(k => k.Launches),
    };
}
