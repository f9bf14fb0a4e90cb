using GpuAudit.Core.Classification;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Reporting;

namespace GpuAudit.Core.Summaries;

/// <summary>
/// Folds ticks into per-minute rows for GPUs, processes and jobs. Each tick accounts for the time
/// since the GPU's previous tick (capped, so a stalled poller does not invent hours of work) under
/// that tick's class. <see cref="Add"/> returns the minutes that are complete; <see cref="Flush"/>
/// the rest at shutdown (the journal merges a minute written twice).
/// </summary>
public sealed class MinuteSummarizer(string node)
{
    /// <summary>Longest gap between two polls still counted as observed time.</summary>
    public const double MaxGapSeconds = 10;

    private readonly Dictionary<string, GpuState> _last = [];
    private readonly Dictionary<(string Uuid, double Minute), Accumulator> _gpus = [];
    private readonly Dictionary<(string Uuid, int Pid, double Minute), ProcessAccumulator> _processes = [];
    private readonly Dictionary<(string Job, string Uuid, double Minute), JobAccumulator> _jobs = [];

    public MinuteBatch Add(TickAnalysis tick)
    {
        var minute = Math.Floor(tick.Time / 60) * 60;
        var done = Collect(m => m < minute);
        foreach (var gpu in tick.Gpus)
        {
            AddGpu(tick, gpu, minute);
        }

        return done;
    }

    public MinuteBatch Flush() => Collect(_ => true);

    private void AddGpu(TickAnalysis tick, GpuView gpu, double minute)
    {
        var uuid = gpu.Device.Uuid;
        var previous = _last.GetValueOrDefault(uuid);
        _last[uuid] = new GpuState(tick.Time, gpu.Sample?.EnergyMj);
        if (previous is null || gpu.Sample is not { } sample)
        {
            return;
        }

        var seconds = Math.Clamp(tick.Time - previous.Time, 0, MaxGapSeconds);
        if (seconds == 0)
        {
            return;
        }

        var energy = sample.EnergyMj is { } mj && previous.EnergyMj is { } before && mj >= before && tick.Time - previous.Time <= MaxGapSeconds
            ? (mj - before) / 1000.0
            : (sample.PowerMw ?? 0) / 1000.0 * seconds;
        var utilization = sample.UtilGpuPct / 100.0;
        var gpuClass = gpu.Verdict?.Class ?? WorkloadClass.Unknown;

        Get(_gpus, (uuid, minute), () => new Accumulator(gpu.Device.Index)).Add(tick.Time, seconds, gpuClass, energy, utilization);

        var processes = tick.Processes.Where(p => p.Uuid == uuid).ToList();
        var attributions = processes.Select(p => JobAttribution.Resolve(p.Insight?.Job, gpu.AllocatedJob)).ToList();
        var smTotal = processes.Sum(p => p.Usage.SmPct ?? 0);
        for (var i = 0; i < processes.Count; i++)
        {
            var p = processes[i];
            var share = smTotal > 0 ? (p.Usage.SmPct ?? 0) / (double)smTotal : 1.0 / processes.Count;
            var acc = Get(_processes, (uuid, p.Pid, minute), () => new ProcessAccumulator(gpu.Device.Index));
            acc.Job ??= attributions[i].Job?.Id;
            acc.User ??= attributions[i].User(p.Insight?.User);
            acc.Comm ??= p.Identity?.Comm;
            acc.Executable ??= p.Identity?.Exe;
            acc.Add(tick.Time, seconds, p.Verdict?.Class ?? WorkloadClass.Unknown, energy * share, p.Usage.SmPct / 100.0);
        }

        // The GPU's time belongs to its allocated job, or else to the one job its processes name.
        var job = gpu.AllocatedJob ?? (attributions.Select(a => a.Job).OfType<Core.Inspection.JobRef>().DistinctBy(j => j.Id).ToList() is [var only] ? only : null);
        if (job is not null)
        {
            var acc = Get(_jobs, (job.Id, uuid, minute), () => new JobAccumulator(gpu.Device.Index));
            acc.User ??= job.User ?? processes.Select(p => p.Insight?.User).FirstOrDefault(u => u is not null);
            acc.Add(tick.Time, seconds, gpuClass, energy, utilization);
        }
    }

    private MinuteBatch Collect(Func<double, bool> due)
    {
        var gpus = Take(_gpus, k => due(k.Minute)).Select(e => new GpuMinute(node, e.Key.Uuid, e.Value.Gpu, e.Key.Minute, e.Value.Totals())).ToList();
        var processes = Take(_processes, k => due(k.Minute))
            .Select(e => new ProcessMinute(node, e.Key.Uuid, e.Key.Pid, e.Key.Minute, e.Value.Job, e.Value.User, e.Value.Comm, e.Value.Executable, e.Value.Totals())).ToList();
        var jobs = Take(_jobs, k => due(k.Minute)).Select(e => new JobMinute(node, e.Key.Job, e.Key.Uuid, e.Value.Gpu, e.Key.Minute, e.Value.User, e.Value.Totals())).ToList();
        return gpus.Count + processes.Count + jobs.Count == 0 ? MinuteBatch.Empty : new MinuteBatch(gpus, processes, jobs);
    }

    private static List<KeyValuePair<TKey, TValue>> Take<TKey, TValue>(Dictionary<TKey, TValue> map, Func<TKey, bool> due)
        where TKey : notnull
    {
        var taken = map.Where(e => due(e.Key)).ToList();
        foreach (var entry in taken)
        {
            map.Remove(entry.Key);
        }

        return taken;
    }

    private static TValue Get<TKey, TValue>(Dictionary<TKey, TValue> map, TKey key, Func<TValue> create)
        where TKey : notnull
    {
        if (!map.TryGetValue(key, out var value))
        {
            value = create();
            map.Add(key, value);
        }

        return value;
    }

    private sealed record GpuState(double Time, long? EnergyMj);

    private class Accumulator(int gpu)
    {
        private readonly ClassSeconds _seconds = new();
        private double _first = double.MaxValue;
        private double _last = double.MinValue;
        private double _energy;
        private double _utilSum;
        private double _utilSeconds;

        public int Gpu { get; } = gpu;

        public void Add(double time, double seconds, WorkloadClass value, double energy, double? utilization)
        {
            _first = Math.Min(_first, time - seconds);
            _last = Math.Max(_last, time);
            _seconds.Add(value, seconds);
            _energy += energy;
            if (utilization is { } u)
            {
                _utilSum += u * seconds;
                _utilSeconds += seconds;
            }
        }

        public MinuteTotals Totals() => new(_first, _last, _seconds, _energy, _utilSeconds > 0 ? _utilSum / _utilSeconds : null, _utilSeconds);
    }

    private sealed class ProcessAccumulator(int gpu) : Accumulator(gpu)
    {
        public string? Job { get; set; }

        public string? User { get; set; }

        public string? Comm { get; set; }

        public string? Executable { get; set; }
    }

    private sealed class JobAccumulator(int gpu) : Accumulator(gpu)
    {
        public string? User { get; set; }
    }
}
