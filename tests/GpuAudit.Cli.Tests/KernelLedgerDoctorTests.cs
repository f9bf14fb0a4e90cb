using System.Globalization;
using System.Text.Json;
using GpuAudit.Ebpf.Tests;

namespace GpuAudit.Cli.Tests;

/// <summary>doctor's kernel ledger section on this machine (root, libbpf: the program loads).</summary>
[Trait("Category", "Integration")]
public sealed class KernelLedgerDoctorTests
{
    [EbpfFact]
    public void Doctor_loads_the_bpf_program_and_names_the_libcuda_files_of_gpu_processes()
    {
        using var output = new StringWriter();
        GpuAudit.Cli.Commands.DoctorCommand.Run(output, "/nonexistent/libnvidia-ml.so.1", "/proc", kernelLedger: true);

        Assert.Contains("kernel ledger (eBPF uprobes on libcuda: which kernels processes launch)\n  [ok]   BPF program loads", output.ToString().ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }
}
