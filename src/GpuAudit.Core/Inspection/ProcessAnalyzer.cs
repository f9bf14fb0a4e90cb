using System.Globalization;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Inspection;

/// <summary>
/// The one set of identity rules: turns a process's identity (a <see cref="ProcessRecord"/>, read
/// from /proc live or from a trace's <c>process</c> line on replay) into a
/// <see cref="ProcessInsight"/> with its job, library fingerprint and findings, so replays see what
/// the agent saw. The rules themselves live in <see cref="MinerSignatures"/>,
/// <see cref="TunnelSignatures"/>, <see cref="GpuLibraryFingerprint"/> and <see cref="CgroupIdentity"/>.
/// Never reads the ground truth.
/// </summary>
public static class ProcessAnalyzer
{
    // The memory_scan patterns that are hash constants, and what each is. A naive scan counts them
    // anywhere: anonymous hits are suggestive, file hits are the CPU crypto libraries every
    // process maps, so they are ignored.
    private static readonly (string Pattern, string What)[] HashConstantPatterns =
    [
        ("sha256_k_table", "SHA-256 round-constant table"),
        ("sha256_k0_ptx_dec", "SHA-256 round constant written in decimal as PTX prints it"),
        ("fnv_prime_ptx_dec", "FNV prime (Ethash) written in decimal as PTX prints it"),
    ];

    /// <summary>
    /// The insight of a process from its identity alone. <paramref name="raw"/> is what /proc said
    /// before redaction when it was read live; a replayed identity is read as it was recorded.
    /// </summary>
    public static ProcessInsight Analyze(ProcessRecord identity, RawIdentity? raw = null)
    {
        raw ??= new RawIdentity(identity.Comm, identity.Exe, (identity.Cmdline ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries), identity.Cgroup, identity.GpuLibs);
        var cgroup = CgroupIdentity.Parse(raw.Cgroup);
        var libraries = GpuLibraryFingerprint.Of(raw.GpuLibs);
        var findings = new List<ProcessFinding>();
        AddIdentityFindings(raw.Comm, raw.Exe, raw.Argv, findings);
        foreach (var plugin in libraries.MinerPlugins)
        {
            findings.Add(new ProcessFinding(FindingKind.MinerLibrary, plugin + " is mapped"));
        }

        if (identity.MemoryScan is { } scan)
        {
            AddMemoryScanFindings(scan, findings);
        }

        return new ProcessInsight
        {
            Identity = identity,
            Job = cgroup.Job,
            ContainerId = cgroup.ContainerId,
            PodUid = cgroup.PodUid,
            Libraries = libraries,
            Findings = findings,
        };
    }

    /// <summary>Findings from names alone: miner executable, miner command-line markers, tunnels.</summary>
    private static void AddIdentityFindings(string? comm, string? exe, IReadOnlyList<string> argv, List<ProcessFinding> findings)
    {
        var executable = MinerSignatures.IsMinerExecutable(comm) ? comm
            : MinerSignatures.IsMinerExecutable(exe) ? exe
            : argv.Count > 0 && MinerSignatures.IsMinerExecutable(argv[0]) ? argv[0]
            : null;
        if (executable is not null)
        {
            findings.Add(new ProcessFinding(FindingKind.MinerExecutable, "executable " + Path.GetFileName(executable) + " is a known miner"));
        }

        var markers = MinerSignatures.CommandLineMarkers(argv);
        if (markers.Count > 0)
        {
            findings.Add(new ProcessFinding(FindingKind.MinerCommandLine, "command line carries " + string.Join(", ", markers.Distinct())));
        }

        if (TunnelSignatures.Describe(argv) is { } tunnel)
        {
            findings.Add(new ProcessFinding(FindingKind.Tunnel, tunnel));
        }
    }

    private static void AddMemoryScanFindings(MemoryScanSummary scan, List<ProcessFinding> findings)
    {
        foreach (var (pattern, what) in HashConstantPatterns)
        {
            if (scan.Hits.TryGetValue(pattern, out var count) && count.Anon > 0)
            {
                findings.Add(new ProcessFinding(
                    FindingKind.HashConstantInAnonymousMemory,
                    what + " in anonymous memory (" + count.Anon.ToString(CultureInfo.InvariantCulture)
                    + " hits); not located inside a GPU code image, so weaker evidence than a constant in GPU code"));
            }
        }

        var minerKernels = scan.PtxEntries.Where(MinerSignatures.IsMinerKernel).ToList();
        if (minerKernels.Count > 0)
        {
            findings.Add(new ProcessFinding(FindingKind.MinerKernel, "PTX kernels " + string.Join(", ", minerKernels) + " are known miner kernels"));
        }
    }
}
