using System.Globalization;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Pipeline;

namespace GpuAudit.Core.Policy;

/// <summary>
/// The evidence lines of one GPU-level <see cref="Observation"/>, built only when a tracker still
/// collects them (<see cref="ViolationTracker.Observe"/>): a violation that is open, or that has its
/// lines, never formats a string. One object per GPU-level observation holds what the lines need;
/// no closure, so the per-tick path allocates only this and formats nothing (a process's own
/// evidence allocates not even that: <see cref="ProcessEvidence"/>).
/// </summary>
internal abstract class ObservationEvidence
{
    public abstract IReadOnlyList<string> Lines();

    public static string VerdictLine(string subject, Verdict verdict) =>
        $"{subject} classified {verdict.Class.Label()} (confidence {Format(verdict.Confidence)})";

    public static string PidList(IReadOnlyList<int> pids)
    {
        if (pids.Count == 0)
        {
            return "none";
        }

        var text = new System.Text.StringBuilder();
        for (var i = 0; i < pids.Count; i++)
        {
            text.Append(i == 0 ? string.Empty : ", ").Append(pids[i].ToString(CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    public static string Format(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);

    public static string Percent(double share) => (share * 100).ToString("0", CultureInfo.InvariantCulture) + "%";

    public static bool IsHashFinding(FindingKind kind) => kind is FindingKind.HashConstantInGpuCode or FindingKind.HashKernelLaunched;

    public static bool IsMinerFinding(FindingKind kind) => kind is FindingKind.MinerExecutable or FindingKind.MinerCommandLine
        or FindingKind.MinerLibrary or FindingKind.MinerKernel or FindingKind.MinerKernelLaunched;

    public static bool IsEgressFinding(FindingKind kind) => kind is FindingKind.Tunnel or FindingKind.NonAllowlistedEgress or FindingKind.PoolPortConnection;

    /// <summary>The lines of the findings of <paramref name="kind"/>'s group (hash, miner or egress).</summary>
    public static List<string> FindingLines(IReadOnlyList<ProcessFinding> findings, Func<FindingKind, bool> group)
    {
        var lines = new List<string>();
        for (var i = 0; i < findings.Count; i++)
        {
            if (group(findings[i].Kind))
            {
                lines.Add(findings[i].Kind.Label() + ": " + findings[i].Detail);
            }
        }

        return lines;
    }
}

/// <summary>
/// A process's own evidence for <c>hash_compute</c>, <c>miner_identity</c>, <c>gpu_job_egress</c> or
/// <c>unattributed_process</c>: read from the process's view when a tracker collects it, so the
/// observation carries the view and nothing is allocated for the (many) processes whose violation
/// already has its lines.
/// </summary>
internal static class ProcessEvidence
{
    public static List<string> Lines(PolicyRule rule, ProcessView process)
    {
        var attribution = process.Attribution;
        var findings = process.Insight?.Findings ?? [];
        var lines = new List<string>();
        switch (rule)
        {
            case PolicyRule.HashCompute:
                if (process.Verdict is { Class: WorkloadClass.Hash } verdict)
                {
                    lines.Add(ObservationEvidence.VerdictLine($"pid {process.Pid}", verdict));
                    if (verdict.Candidates.Count > 0)
                    {
                        lines.Add($"the split could not separate pid {process.Pid} from pids {ObservationEvidence.PidList(verdict.Candidates)}");
                    }

                    lines.AddRange(verdict.Evidence);
                }

                // Hash constants inside GPU code are hashing even when the counters look like training.
                lines.AddRange(ObservationEvidence.FindingLines(findings, ObservationEvidence.IsHashFinding));
                break;
            case PolicyRule.MinerIdentity:
                lines.AddRange(ObservationEvidence.FindingLines(findings, ObservationEvidence.IsMinerFinding));
                break;
            case PolicyRule.GpuJobEgress:
                lines.AddRange(ObservationEvidence.FindingLines(findings, ObservationEvidence.IsEgressFinding));
                break;
            default:
                lines.Add(attribution.Explain());
                return lines;
        }

        // The attribution line says which job the evidence was accounted to, and names a forged or
        // disagreeing claim: the claim is evidence too.
        if (attribution.Source is not AttributionSource.None)
        {
            lines.Add(attribution.Explain());
        }

        return lines;
    }
}

/// <summary>Hash-like work on a GPU that no process's own verdict accounts for.</summary>
internal sealed class UnexplainedHashEvidence(Verdict verdict, int processCount) : ObservationEvidence
{
    public override IReadOnlyList<string> Lines() =>
    [
        VerdictLine("GPU", verdict),
        processCount == 0
            ? "no process on this GPU is visible to the agent"
            : $"no process's own verdict accounts for it; candidate pids (most SM time first): {PidList(verdict.Candidates)}",
        .. verdict.Evidence,
    ];
}

/// <summary>The GPU's hash evidence budget was reached.</summary>
internal sealed class HashBudgetEvidence(double spent, string? job, RuleSettings settings, Verdict? verdict) : ObservationEvidence
{
    public override IReadOnlyList<string> Lines()
    {
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"evidence budget: {spent:0.0} GPU-seconds of hash-like work on this GPU{(job is null ? string.Empty : " for job " + job)} in the last {settings.BudgetHorizonSeconds / 60:0.#} minutes (budget {settings.BudgetSeconds:0.#} s): work spread too thin (short bursts, changing pids) for any stretch of evidence to last"),
        };
        if (verdict is not null)
        {
            lines.Add(VerdictLine("GPU", verdict));
            AddFirst(lines, verdict.Evidence, 2);
        }

        return lines;
    }

    public static void AddFirst(List<string> lines, IReadOnlyList<string> evidence, int count)
    {
        for (var i = 0; i < evidence.Count && i < count; i++)
        {
            lines.Add(evidence[i]);
        }
    }
}

/// <summary>A GPU allocated to a job but idle.</summary>
internal sealed class IdleAllocationEvidence(JobRef allocated, Verdict? verdict) : ObservationEvidence
{
    public override IReadOnlyList<string> Lines() =>
        [$"GPU allocated to job {allocated.Id} ({allocated.Source}) but idle" + (verdict is { } v ? $" (verdict idle, confidence {Format(v.Confidence)})" : " (0% utilization, no process)")];
}

/// <summary>
/// A GPU doing work outside its job's purpose. The diverted classes are listed from the GPU's
/// verdict and processes when the lines are built, not on every tick.
/// </summary>
internal sealed class DivertedEvidence(JobRef job, JobPurpose purpose, string from, IReadOnlyList<ProcessView> processes, double share, Verdict verdict) : ObservationEvidence
{
    public override IReadOnlyList<string> Lines()
    {
        var classes = Classes(verdict, processes, purpose);
        var labels = new string[classes.Count];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = classes[i].Label();
        }

        var lines = new List<string>
        {
            $"job {job.Id} is for {purpose.Label()} (from {from}); the GPU did {string.Join(", ", labels)} with {Percent(share)} of its time, outside that purpose",
            VerdictLine("GPU", verdict),
        };
        HashBudgetEvidence.AddFirst(lines, verdict.Evidence, 2);
        return lines;
    }

    /// <summary>
    /// Whether hashing is among the diverted classes (<see cref="Classes"/> contains it): the one part
    /// of them every tick needs (a diverting violation with hashing is critical).
    /// </summary>
    public static bool IncludesHash(Verdict gpu, IReadOnlyList<ProcessView> processes, JobPurpose purpose)
    {
        if (gpu.Class != WorkloadClass.Mixed)
        {
            return gpu.Class == WorkloadClass.Hash;
        }

        if (gpu.Candidates.Count > 0)
        {
            return true;
        }

        for (var i = 0; i < processes.Count; i++)
        {
            if (processes[i].Verdict is { Class: WorkloadClass.Hash } && purpose.Diverts(WorkloadClass.Hash))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The diverted classes: the GPU's own class, or on a mixed GPU its processes' diverted classes then hashing no process accounts for.</summary>
    private static List<WorkloadClass> Classes(Verdict gpu, IReadOnlyList<ProcessView> processes, JobPurpose purpose)
    {
        if (gpu.Class != WorkloadClass.Mixed)
        {
            return [gpu.Class];
        }

        var classes = new List<WorkloadClass>();
        for (var i = 0; i < processes.Count; i++)
        {
            if (processes[i].Verdict is { } verdict && purpose.Diverts(verdict.Class) && !classes.Contains(verdict.Class))
            {
                classes.Add(verdict.Class);
            }
        }

        if (gpu.Candidates.Count > 0 && !classes.Contains(WorkloadClass.Hash))
        {
            classes.Add(WorkloadClass.Hash);
        }

        return classes;
    }
}
