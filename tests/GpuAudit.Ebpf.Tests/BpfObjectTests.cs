using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using GpuAudit.Ebpf.Interop;

namespace GpuAudit.Ebpf.Tests;

/// <summary>The BPF object, its committed copy, and the layouts both sides share.</summary>
public sealed partial class BpfObjectTests
{
    private static string BpfDirectory => Path.Combine(RepoPaths.Root, "src", "GpuAudit.Ebpf", "Bpf");

    [Fact]
    public void The_committed_object_was_built_from_the_current_sources()
    {
        var sources = File.ReadAllBytes(Path.Combine(BpfDirectory, "cuda_ledger.bpf.c")).Concat(File.ReadAllBytes(Path.Combine(BpfDirectory, "cuda_ledger.h"))).ToArray();
        var stamp = File.ReadAllText(Path.Combine(BpfDirectory, "cuda_ledger.bpf.sha256")).Trim();

        Assert.True(
            Convert.ToHexStringLower(SHA256.HashData(sources)) == stamp,
            "src/GpuAudit.Ebpf/Bpf/cuda_ledger.bpf.o is older than its sources: run src/GpuAudit.Ebpf/Bpf/build.sh and commit the object and its .sha256");
    }

    [Fact]
    public void The_embedded_object_is_a_bpf_elf_with_the_ledger_programs()
    {
        var image = CudaLedgerProbe.ReadEmbeddedObject();

        Assert.Equal("\x7f" + "ELF", System.Text.Encoding.ASCII.GetString(image, 0, 4));
        Assert.Equal(247, BitConverter.ToUInt16(image, 18)); // EM_BPF
        var text = System.Text.Encoding.ASCII.GetString(image);
        foreach (var name in (string[])["launch_arg1", "launch_arg2", "lookup_enter", "load_enter", "call_return", "launches", "budgets", "events", "stats"])
        {
            Assert.Contains(name, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public unsafe void Managed_layouts_match_the_header()
    {
        var header = File.ReadAllText(Path.Combine(BpfDirectory, "cuda_ledger.h"));

        Assert.Equal(16, sizeof(LaunchKey));
        Assert.Equal(24, sizeof(LaunchValue));
        Assert.Equal(16, sizeof(PidBudget));
        Assert.Equal(48, sizeof(LedgerEventHeader));
        Assert.Equal(0, Marshal.OffsetOf<LedgerEventHeader>(nameof(LedgerEventHeader.NameLength)).ToInt32() % 8);
        Assert.Equal(LedgerEventHeader.NameMax.ToString(System.Globalization.CultureInfo.InvariantCulture), NameMax().Match(header).Groups[1].Value);
        foreach (var info in Core.Kernels.CudaEntryPoints.All)
        {
            Assert.Contains($"= {(int)info.Entry},", header, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_record_decodes_with_printable_names_only()
    {
        var record = new byte[48 + LedgerEventHeader.NameMax];
        BitConverter.TryWriteBytes(record.AsSpan(0), 1u);
        BitConverter.TryWriteBytes(record.AsSpan(4), 4242u);
        BitConverter.TryWriteBytes(record.AsSpan(8), 0xABCDUL);
        BitConverter.TryWriteBytes(record.AsSpan(40), 7u);
        "k\u0001\u001b[2J"u8.CopyTo(record.AsSpan(48));

        var decoded = CudaLedgerProbe.Decode(record, new MonotonicClock(1_000_000_000, DateTimeOffset.UnixEpoch));

        Assert.Equal((Core.Kernels.CudaEntryPoint.ModuleGetFunction, 4242, 0xABCDUL, "k??[2J"), (decoded.Entry, decoded.Pid, decoded.Handle, decoded.Name));
    }

    [GeneratedRegex(@"#define LEDGER_NAME_MAX (\d+)")]
    private static partial Regex NameMax();
}
