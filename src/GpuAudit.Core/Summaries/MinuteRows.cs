using GpuAudit.Core.Reporting;

namespace GpuAudit.Core.Summaries;

/// <summary>
/// Shared numbers of every per-minute row: when in the minute data came, seconds by class,
/// energy and a time-weighted mean utilization (GPU busy for GPU and job rows, SM share for processes).
/// </summary>
public sealed record MinuteTotals(double FirstTime, double LastTime, ClassSeconds ClassSeconds, double EnergyJoules, double? MeanUtilization, double UtilizationSeconds);

/// <summary>One GPU over one minute (<see cref="Minute"/> is its start, Unix seconds).</summary>
public sealed record GpuMinute(string Node, string Uuid, int Gpu, double Minute, MinuteTotals Totals);

/// <summary>
/// One process over one minute. Its energy is the GPU's energy split by SM share (NVML has no
/// per-process energy), so treat it as an estimate.
/// </summary>
public sealed record ProcessMinute(string Node, string Uuid, int Pid, double Minute, string? Job, string? User, string? Comm, string? Executable, MinuteTotals Totals);

/// <summary>
/// One GPU of a job over one minute: the GPU's time while it belonged to the job, and the GPU-seconds
/// diverted from the job in it (<see cref="Policy.DivertedTime"/>: the one definition every report,
/// the journal and the Prometheus counter share; a violation's backlog lands in the minute it opened).
/// </summary>
public sealed record JobMinute(string Node, string Job, string Uuid, int Gpu, double Minute, string? User, MinuteTotals Totals)
{
    public double DivertedSeconds { get; init; }
}

/// <summary>What <see cref="MinuteSummarizer"/> hands to the journal at once.</summary>
public sealed record MinuteBatch(IReadOnlyList<GpuMinute> Gpus, IReadOnlyList<ProcessMinute> Processes, IReadOnlyList<JobMinute> Jobs)
{
    public static MinuteBatch Empty { get; } = new([], [], []);

    public bool IsEmpty => Gpus.Count == 0 && Processes.Count == 0 && Jobs.Count == 0;
}
