using GpuAudit.Core.Inspection;

namespace GpuAudit.Core.Features;

/// <summary>
/// What the classifier takes from a process's <see cref="ProcessInsight"/>: whether it maps an ML
/// framework, whether it compiles GPU code at run time without one, and the evidence that points at
/// hashing. A projection with no rules of its own (they are <see cref="ProcessAnalyzer"/>'s, shared
/// with the inspector). Identity only supports the hardware evidence; it never turns strong
/// hardware evidence of training or inference into hash on its own.
/// </summary>
public sealed record ProcessIdentity
{
    public static ProcessIdentity Unknown { get; } = new();

    /// <summary>An ML framework's libraries are mapped (names in <see cref="FrameworkLibrary"/>).</summary>
    public string? FrameworkLibrary { get; init; }

    /// <summary>NVRTC (run-time GPU compilation) is mapped while no ML framework is.</summary>
    public bool RuntimeCompiledWithoutFramework { get; init; }

    /// <summary>Readable reasons that point at hash work (constants, kernel names, miner markers).</summary>
    public IReadOnlyList<string> HashSigns { get; init; } = [];

    public bool HasHashSigns => HashSigns.Count > 0;

    public static ProcessIdentity From(ProcessInsight insight)
    {
        var signs = new List<string>();
        foreach (var f in insight.Findings)
        {
            if (f.Kind is FindingKind.HashConstantInGpuCode or FindingKind.HashConstantInAnonymousMemory or FindingKind.MinerKernel
                or FindingKind.MinerExecutable or FindingKind.MinerCommandLine or FindingKind.MinerLibrary)
            {
                var sign = f.Kind.Label() + ": " + f.Detail;
                if (!signs.Contains(sign))
                {
                    signs.Add(sign);
                }
            }
        }

        // Kernel names that only suggest hashing (known miner kernels are findings already).
        foreach (var entry in insight.Identity.MemoryScan?.PtxEntries ?? [])
        {
            if (MinerSignatures.IsHashLikeKernel(entry) && !MinerSignatures.IsMinerKernel(entry))
            {
                signs.Add("GPU kernel named " + entry);
            }
        }

        return new ProcessIdentity
        {
            FrameworkLibrary = insight.Libraries.FrameworkLibrary,
            RuntimeCompiledWithoutFramework = insight.Libraries.NvrtcOnly,
            HashSigns = signs,
        };
    }
}
