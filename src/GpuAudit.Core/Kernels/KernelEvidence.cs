using System.Globalization;
using GpuAudit.Core.Inspection;

namespace GpuAudit.Core.Kernels;

/// <summary>
/// What a process's launched kernels say about it (docs/kernel-ledger.md, "Evidence"): a kernel
/// with a miner's name, a kernel whose image holds hash constants, and a launch mix of integer
/// bitwise/shift elementwise kernels with no floating-point kernel (hashing written as framework
/// tensor ops: names a process cannot choose, since the framework compiled them).
/// </summary>
public static class KernelEvidence
{
    /// <summary>Launches the integer-only rule needs before it speaks (a sustained mix, not a test call).</summary>
    public const long IntegerOnlyMinLaunches = 1000;

    // Framework elementwise kernels for integer bit operations (PyTorch: BitwiseXorFunctor,
    // bitwise_and_kernel_cuda, lshift/rshift, __lshift__; CuPy: cupy_bitwise_xor, cupy_left_shift).
    private static readonly string[] IntegerOps = ["bitwise", "xor", "lshift", "rshift", "left_shift", "right_shift", "shift_left", "shift_right", "rotl", "rotr", "funnelshift", "popc"];

    // Details stay the same while the evidence holds (no running counts): exporters count distinct findings.

    // Any of these in a launched kernel's name means floating-point work (types, GEMM/conv libraries, ML ops).
    private static readonly string[] FloatingPoint =
    [
        "float", "double", "half", "bfloat16", "bf16", "fp16", "fp32", "fp8", "e4m3", "e5m2", "tf32",
        "gemm", "gemv", "conv", "cutlass", "cudnn", "softmax", "norm", "attention", "flash", "sgemm", "hgemm",
        "ampere_", "sm80_", "sm90_", "xmma", "winograd", "adam", "sgd", "gelu", "relu", "sigmoid", "tanh",
    ];

    public static IReadOnlyList<ProcessFinding> Findings(ProcessKernels process)
    {
        var findings = new List<ProcessFinding>();
        var named = process.Kernels.Where(k => k.Name is not null).ToList();

        var miners = named.Where(k => MinerSignatures.IsMinerKernel(k.RawName!)).ToList();
        if (miners.Count > 0)
        {
            findings.Add(new ProcessFinding(FindingKind.MinerKernelLaunched, "launched miner kernels: " + Names(miners)));
        }

        foreach (var kernel in named.Where(k => k.ImageHashAlgorithms.Count > 0).Take(4))
        {
            findings.Add(new ProcessFinding(FindingKind.HashKernelLaunched,
                $"launched {kernel.Name}, loaded from an image at 0x{kernel.Module!.Image:x} holding {string.Join(", ", kernel.ImageHashAlgorithms)} constants"));
        }

        if (IntegerOnly(named, process.TotalLaunches) is { } integerOnly)
        {
            findings.Add(integerOnly);
        }

        return findings;
    }

    private static ProcessFinding? IntegerOnly(List<KernelLaunches> named, long total)
    {
        var integer = named.Where(k => IsIntegerOp(k.RawName!) && IsIntegerOp(k.Name!)).ToList();
        var integerLaunches = integer.Sum(k => k.Launches);
        // Unnamed launches (looked up before the ledger attached) could be anything: the rule needs them to be a minority.
        if (integerLaunches < IntegerOnlyMinLaunches || integerLaunches * 2 < total || named.Any(k => IsFloatingPoint(k.RawName!) || IsFloatingPoint(k.Name!)))
        {
            return null;
        }

        return new ProcessFinding(FindingKind.IntegerOnlyKernels,
            $"most launches are integer bit-operation kernels (at least {IntegerOnlyMinLaunches.ToString(CultureInfo.InvariantCulture)}) and no floating-point kernel was launched: " + Names(integer));
    }

    /// <summary>Judged on the mangled and the demangled name: types show as words only once demangled (FillFunctor&lt;float&gt;).</summary>
    public static bool IsIntegerOp(string name) => Contains(name, IntegerOps) && !IsFloatingPoint(name);

    public static bool IsFloatingPoint(string name) => Contains(name, FloatingPoint);

    private static bool Contains(string name, string[] words)
    {
        foreach (var word in words)
        {
            if (name.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static string Names(List<KernelLaunches> kernels) =>
        string.Join(", ", kernels.Take(4).Select(k => k.Name).Order(StringComparer.Ordinal)) + (kernels.Count > 4 ? ", ..." : string.Empty);
}

/// <summary>
/// The driver-bypass rule: a process with SM activity for <see cref="MinActiveSeconds"/> while its
/// libcuda carried the probes, and not one launch seen, drives the GPU past the driver API (raw
/// ioctls on /dev/nvidia*, or its own copy of the driver's code). Activity counts from
/// <see cref="Grace"/> after the probes attached. The MPS server is exempt: its clients launch.
/// </summary>
public sealed class DriverBypassRule
{
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    public const double MinActiveSeconds = 30;

    private readonly Dictionary<int, State> _states = [];

    /// <summary>
    /// Observes one poll of one process: <paramref name="smPct"/> its SM share (null: no new
    /// sample), <paramref name="coveredSince"/> when its libcuda got the probes (null: not covered).
    /// Returns the finding while the rule holds.
    /// </summary>
    public ProcessFinding? Observe(int pid, DateTimeOffset now, int? smPct, DateTimeOffset? coveredSince, ProcessKernels? kernels, string? comm)
    {
        if (coveredSince is not { } since || comm is "nvidia-cuda-mps" or "nvidia-cuda-mps-server" || (kernels?.TotalLaunches ?? 0) > 0)
        {
            _states.Remove(pid);
            return null;
        }

        if (!_states.TryGetValue(pid, out var state))
        {
            state = _states[pid] = new State { Last = now };
        }

        if (smPct is > 0 && now - since >= Grace)
        {
            state.ActiveSeconds += Math.Min((now - state.Last).TotalSeconds, 5);
        }

        state.Last = now;
        return state.ActiveSeconds >= MinActiveSeconds
            ? new ProcessFinding(FindingKind.DriverBypass,
                $"{MinActiveSeconds.ToString("F0", CultureInfo.InvariantCulture)} s or more of SM activity since its libcuda carried the probes ({since.UtcDateTime.ToString("u", CultureInfo.InvariantCulture)}) and no kernel launch seen: it drives the GPU past the CUDA driver API")
            : null;
    }

    public void Forget(int pid) => _states.Remove(pid);

    private sealed class State
    {
        public DateTimeOffset Last { get; set; }

        public double ActiveSeconds { get; set; }
    }
}
