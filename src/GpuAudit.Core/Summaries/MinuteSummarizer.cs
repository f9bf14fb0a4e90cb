using GpuAudit.Core.Classification;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Reporting;
using GpuAudit.Core.Samples;

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

    // Keyed without hashing whole uuids: every process of every GPU is looked up at every tick.
    private readonly Dictionary<string, (double Time, long? EnergyMj)> _last = new(GpuUuidComparer.Instance);
    private readonly Dictionary<(string Uuid, double Minute), Accumulator> _gpus = new(GpuMinuteKeyComparer.Instance);
    private readonly Dictionary<(string Uuid, int Pid, double Minute), ProcessAccumulator> _processes = new(ProcessMinuteKeyComparer.Instance);
    private readonly Dictionary<(string Job, string Uuid, double Minute), JobAccumulator> _jobs = new(JobMinuteKeyComparer.Instance);

    // Each GPU's process accumulators of the current minute by the process's place in the GPU's
    // list: the same pid at the same place as last tick (most ticks) skips the dictionary.
    private readonly Dictionary<string, AccumulatorHints> _hints = new(GpuUuidComparer.Instance);

    // The earliest minute still accumulating: a tick in a later minute hands it out. Keeps the
    // per-tick path from scanning the accumulators when nothing is due (almost every tick).
    private double _earliestMinute = double.PositiveInfinity;

    public MinuteBatch Add(TickAnalysis tick)
    {
        var minute = Math.Floor(tick.Time / 60) * 60;
        var done = _earliestMinute < minute ? Collect(minute) : MinuteBatch.Empty;
        var gpus = tick.Gpus;
        for (var i = 0; i < gpus.Count; i++)
        {
            AddGpu(tick.Time, gpus[i], minute);
        }

        AddDiverted(tick, minute);
        return done;
    }

    /// <summary>GPU-seconds diverted this tick (the policy's one definition, <see cref="Policy.DivertedTime"/>), on the job's row.</summary>
    private void AddDiverted(TickAnalysis tick, double minute)
    {
        var diverted = tick.Policy.Diverted;
        for (var i = 0; i < diverted.Count; i++)
        {
            var d = diverted[i];
            if (d.Job is null)
            {
                continue;
            }

            if (!_jobs.TryGetValue((d.Job, d.Uuid, minute), out var acc))
            {
                _jobs.Add((d.Job, d.Uuid, minute), acc = new JobAccumulator(d.Gpu));
                _earliestMinute = Math.Min(_earliestMinute, minute);
            }

            acc.DivertedSeconds += d.Seconds;
        }
    }

    public MinuteBatch Flush() => Collect(double.PositiveInfinity);

    private void AddGpu(double time, GpuView gpu, double minute)
    {
        var uuid = gpu.Device.Uuid;
        var seen = _last.TryGetValue(uuid, out var previous);
        _last[uuid] = (time, gpu.Sample?.EnergyMj);
        if (!seen || gpu.Sample is not { } sample)
        {
            return;
        }

        var seconds = Math.Clamp(time - previous.Time, 0, MaxGapSeconds);
        if (seconds == 0)
        {
            return;
        }

        var energy = sample.EnergyMj is { } mj && previous.EnergyMj is { } before && mj >= before && time - previous.Time <= MaxGapSeconds
            ? (mj - before) / 1000.0
            : (sample.PowerMw ?? 0) / 1000.0 * seconds;
        var utilization = sample.UtilGpuPct / 100.0;
        var gpuClass = gpu.Verdict?.Class ?? WorkloadClass.Unknown;
        _earliestMinute = Math.Min(_earliestMinute, minute);

        if (!_gpus.TryGetValue((uuid, minute), out var gpuAcc))
        {
            _gpus.Add((uuid, minute), gpuAcc = new Accumulator(gpu.Device.Index));
        }

        gpuAcc.Add(time, seconds, gpuClass, energy, utilization);

        var processes = gpu.ProcessSpan;
        var smTotal = 0;
        for (var i = 0; i < processes.Length; i++)
        {
            smTotal += processes[i].Usage.SmPct ?? 0;
        }

        // The GPU's time belongs to its allocated job, or else to the one job its processes name.
        var job = gpu.AllocatedJob;
        var named = job is null ? OnlyNamedJob(processes) : null;
        if (!_hints.TryGetValue(uuid, out var hints))
        {
            _hints[uuid] = hints = new AccumulatorHints();
        }

        hints.Begin(minute, processes.Length);
        for (var i = 0; i < processes.Length; i++)
        {
            var p = processes[i];
            var share = smTotal > 0 ? (p.Usage.SmPct ?? 0) / (double)smTotal : 1.0 / processes.Length;
            if (hints.At(i, p.Pid) is not { } acc)
            {
                if (!_processes.TryGetValue((uuid, p.Pid, minute), out acc))
                {
                    _processes.Add((uuid, p.Pid, minute), acc = new ProcessAccumulator(gpu.Device.Index));
                }

                hints.Set(i, p.Pid, acc);
            }

            acc.Job ??= p.Attribution.Job?.Id;
            acc.User ??= p.Attribution.User(p.Insight?.User);
            acc.Comm ??= p.Identity?.Comm;
            acc.Executable ??= p.Identity?.Exe;
            acc.Add(time, seconds, p.Verdict?.Class ?? WorkloadClass.Unknown, energy * share, p.Usage.SmPct / 100.0);
        }

        job ??= named;
        if (job is not null)
        {
            if (!_jobs.TryGetValue((job.Id, uuid, minute), out var acc))
            {
                _jobs.Add((job.Id, uuid, minute), acc = new JobAccumulator(gpu.Device.Index));
            }

            acc.User ??= job.User ?? FirstUser(processes);
            acc.Add(time, seconds, gpuClass, energy, utilization);
        }
    }

    /// <summary>The job the processes' attributions name, when they name exactly one (by id); else null.</summary>
    private static JobRef? OnlyNamedJob(ReadOnlySpan<ProcessView> processes)
    {
        JobRef? only = null;
        for (var i = 0; i < processes.Length; i++)
        {
            if (processes[i].Attribution.Job is not { } job)
            {
                continue;
            }

            if (only is null)
            {
                only = job;
            }
            else if (only.Id != job.Id)
            {
                return null;
            }
        }

        return only;
    }

    private static string? FirstUser(ReadOnlySpan<ProcessView> processes)
    {
        for (var i = 0; i < processes.Length; i++)
        {
            if (processes[i].Insight?.User is { } user)
            {
                return user;
            }
        }

        return null;
    }

    /// <summary>Hands out (and forgets) every minute that starts before <paramref name="before"/>.</summary>
    private MinuteBatch Collect(double before)
    {
        // The accumulators handed out leave the dictionary: no hint may lead back to one.
        _hints.Clear();
        var gpus = new List<GpuMinute>();
        var processes = new List<ProcessMinute>();
        var jobs = new List<JobMinute>();
        var earliest = double.PositiveInfinity;
        foreach (var (key, acc) in _gpus)
        {
            if (key.Minute < before)
            {
                gpus.Add(new GpuMinute(node, key.Uuid, acc.Gpu, key.Minute, acc.Totals()));
                _gpus.Remove(key);
            }
            else
            {
                earliest = Math.Min(earliest, key.Minute);
            }
        }

        foreach (var (key, acc) in _processes)
        {
            if (key.Minute < before)
            {
                processes.Add(new ProcessMinute(node, key.Uuid, key.Pid, key.Minute, acc.Job, acc.User, acc.Comm, acc.Executable, acc.Totals()));
                _processes.Remove(key);
            }
            else
            {
                earliest = Math.Min(earliest, key.Minute);
            }
        }

        foreach (var (key, acc) in _jobs)
        {
            if (key.Minute < before)
            {
                jobs.Add(new JobMinute(node, key.Job, key.Uuid, acc.Gpu, key.Minute, acc.User, acc.Totals()) { DivertedSeconds = acc.DivertedSeconds });
                _jobs.Remove(key);
            }
            else
            {
                earliest = Math.Min(earliest, key.Minute);
            }
        }

        _earliestMinute = earliest;
        return gpus.Count + processes.Count + jobs.Count == 0 ? MinuteBatch.Empty : new MinuteBatch(gpus, processes, jobs);
    }

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

    /// <summary>
    /// One GPU's process accumulators of one minute by the process's place in the GPU's list, for
    /// the next tick to find without a lookup when the same pid is at the same place.
    /// </summary>
    private sealed class AccumulatorHints
    {
        private double _minute = double.NaN;
        private int[] _pids = [];
        private ProcessAccumulator?[] _accumulators = [];

        /// <summary>Starts a tick of <paramref name="minute"/> with <paramref name="count"/> processes; a new minute forgets the last one's.</summary>
        public void Begin(double minute, int count)
        {
            if (_minute != minute)
            {
                Array.Clear(_accumulators);
                _minute = minute;
            }

            if (_pids.Length < count)
            {
                Array.Resize(ref _pids, Math.Max(count, 2 * _pids.Length));
                Array.Resize(ref _accumulators, _pids.Length);
            }
        }

        public ProcessAccumulator? At(int index, int pid) => _pids[index] == pid ? _accumulators[index] : null;

        public void Set(int index, int pid, ProcessAccumulator accumulator)
        {
            _pids[index] = pid;
            _accumulators[index] = accumulator;
        }
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

        public double DivertedSeconds { get; set; }
    }
}
