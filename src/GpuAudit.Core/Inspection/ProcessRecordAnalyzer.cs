using System.Globalization;
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Inspection;

/// <summary>
/// Turns a trace <c>process</c> line (identity captured when the process was first seen) into the
/// same evidence the live inspector gives, so replays see what the agent saw. Never reads the
/// ground truth.
/// </summary>
public static class ProcessRecordAnalyzer
{
    public static ProcessInsight Analyze(ProcessRecord record)
    {
        var cgroup = CgroupIdentity.Parse(record.Cgroup);
        var findings = new List<ProcessFinding>();
        var argv = (record.Cmdline ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        AddIdentityFindings(record.Comm, record.Exe, argv, findings);

        foreach (var lib in record.GpuLibs.Where(MinerSignatures.IsMinerLibrary))
        {
            findings.Add(new ProcessFinding(FindingKind.MinerLibrary, lib + " is mapped"));
        }

        if (record.MemoryScan is { } scan)
        {
            AddMemoryScanFindings(scan, findings);
        }

        return new ProcessInsight
        {
            Pid = record.Pid,
            Comm = record.Comm,
            Job = cgroup.Job,
            ContainerId = cgroup.ContainerId,
            PodUid = cgroup.PodUid,
            Findings = findings,
        };
    }

    /// <summary>Findings from names alone: miner executable, miner command-line markers, tunnels.</summary>
    public static void AddIdentityFindings(string? comm, string? exe, IReadOnlyList<string> argv, List<ProcessFinding> findings)
    {
        var executable = new[] { comm, exe, argv.Count > 0 ? argv[0] : null }.FirstOrDefault(MinerSignatures.IsMinerExecutable);
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
        // A naive scan counts patterns anywhere: anonymous hits are suggestive, file hits are the
        // CPU crypto libraries every process maps, so they are ignored.
        AddAnonymousHit(scan, "sha256_k_table", "SHA-256 round-constant table", findings);
        AddAnonymousHit(scan, "sha256_k0_ptx_dec", "SHA-256 round constant written in decimal as PTX prints it", findings);
        AddAnonymousHit(scan, "fnv_prime_ptx_dec", "FNV prime (Ethash) written in decimal as PTX prints it", findings);

        var minerKernels = scan.PtxEntries.Where(MinerSignatures.IsMinerKernel).ToList();
        if (minerKernels.Count > 0)
        {
            findings.Add(new ProcessFinding(FindingKind.MinerKernel, "PTX kernels " + string.Join(", ", minerKernels) + " are known miner kernels"));
        }
    }

    private static void AddAnonymousHit(MemoryScanSummary scan, string pattern, string what, List<ProcessFinding> findings)
    {
        if (scan.Hits.TryGetValue(pattern, out var count) && count.Anon > 0)
        {
            findings.Add(new ProcessFinding(
                FindingKind.HashConstantInAnonymousMemory,
                what + " in anonymous memory (" + count.Anon.ToString(CultureInfo.InvariantCulture)
                + " hits); not located inside a GPU code image, so weaker evidence than a constant in GPU code"));
        }
    }
}
