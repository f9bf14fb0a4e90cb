namespace GpuAudit.Core.Tests.RedTeam;

/// <summary>One poll of one GPU in a derived trace, with the processes first seen at it.</summary>
internal sealed record Frame(GpuSample Sample, IReadOnlyList<ProcessRecord> NewProcesses);

/// <summary>A trace of one GPU derived from a real recording; frame times start at <see cref="AdversarialTraces.T0"/>.</summary>
internal sealed record Derived(string Name, IReadOnlyList<Frame> Frames)
{
    /// <summary>Seconds from the first frame to the last.</summary>
    public double Span => Frames.Count == 0 ? 0 : Frames[^1].Sample.Time - Frames[0].Sample.Time;

    public override string ToString() => Name;
}

/// <summary>
/// Derives adversarial traces from the real H100 recordings, the ways a workload that knows it is
/// watched would try to walk past the auditor: loop a recording for as long as a real job runs,
/// rotate pids, run in short bursts, split over many processes, claim another job in a cgroup it
/// made, hide behind a training process. Every derivation keeps the recording's own readings (GPM
/// pipe mix, power, memory); only time, pids, shares and identity change, so what the auditor sees
/// is what the hardware showed. A recording keeps its own timing (gaps included: the idle recording
/// was sampled between other workloads, and packing its readings closer would invent bursts); the
/// duty-cycle and time-slicing derivations build one frame per second.
/// </summary>
internal static class AdversarialTraces
{
    public const double T0 = 1_900_000_000;

    /// <summary>The recording as it is.</summary>
    public static Derived Of(RecordedTrace trace)
    {
        var records = trace.Processes.ToDictionary(p => p.Pid);
        var announced = new HashSet<int>();
        var frames = new List<Frame>(trace.Samples.Count);
        foreach (var sample in trace.Samples)
        {
            var fresh = sample.Procs.Where(p => announced.Add(p.Pid))
                .Select(p => records.TryGetValue(p.Pid, out var r) ? r with { Truth = null } : new ProcessRecord { Pid = p.Pid, Comm = "python3" })
                .ToList();
            frames.Add(new Frame(sample with { Gpu = 0, Truth = null, Time = T0 + Math.Round(sample.Time - trace.Samples[0].Time, 3) }, fresh));
        }

        return new Derived(trace.Name, frames);
    }

    /// <summary>Plays the trace again and again for <paramref name="seconds"/> of trace time, one second between the end and the next start; pids stay the same (one long-running job).</summary>
    public static Derived Loop(this Derived d, int seconds)
    {
        var period = d.Span + 1;
        var frames = new List<Frame>();
        for (var loop = 0; ; loop++)
        {
            foreach (var f in d.Frames)
            {
                var time = f.Sample.Time + (loop * period);
                if (time - T0 >= seconds)
                {
                    return new Derived($"{d.Name} looped {seconds} s", frames);
                }

                frames.Add(f with { Sample = f.Sample with { Time = time }, NewProcesses = loop == 0 ? f.NewProcesses : [] });
            }
        }
    }

    /// <summary>
    /// An agent polling once a second through the recording's gaps (the idle recording was sampled only
    /// between other workloads): each missing second reads as the recording's last idle reading, with
    /// the processes of the frame before it.
    /// </summary>
    public static Derived PolledEverySecond(this Derived d)
    {
        var frames = new List<Frame>();
        GpuSample? idle = null;
        for (var i = 0; i < d.Frames.Count; i++)
        {
            var f = d.Frames[i];
            frames.Add(f);
            if (f.Sample.Gpm is { } g && g[GpmMetric.SmUtil] is < 1 && g[GpmMetric.DramBwUtil] is not null)
            {
                idle = f.Sample;
            }

            var next = i + 1 < d.Frames.Count ? d.Frames[i + 1].Sample.Time : f.Sample.Time;
            for (var t = f.Sample.Time + 1; idle is not null && t < next - 0.5; t++)
            {
                frames.Add(new Frame(idle with { Time = t, Procs = f.Sample.Procs }, []));
            }
        }

        return d with { Frames = frames };
    }

    /// <summary>Every process gets a new pid every <paramref name="everySeconds"/> s (same executable, cgroup and libraries).</summary>
    public static Derived PidChurn(this Derived d, int everySeconds)
    {
        var templates = d.Frames.SelectMany(f => f.NewProcesses).GroupBy(p => p.Pid).ToDictionary(g => g.Key, g => g.First());
        var announced = new HashSet<int>();
        var frames = new List<Frame>(d.Frames.Count);
        for (var i = 0; i < d.Frames.Count; i++)
        {
            var generation = (int)((d.Frames[i].Sample.Time - T0) / everySeconds);
            int Rotate(int pid) => 200_000 + (generation * 64) + (pid % 64);
            var sample = d.Frames[i].Sample;
            var procs = sample.Procs.Select(p => p with { Pid = Rotate(p.Pid) }).ToList();
            var fresh = sample.Procs.Where(p => announced.Add(Rotate(p.Pid)))
                .Select(p => (templates.TryGetValue(p.Pid, out var t) ? t : new ProcessRecord { Pid = 0, Comm = "python3" }) with { Pid = Rotate(p.Pid), Ppid = p.Pid })
                .ToList();
            frames.Add(new Frame(sample with { Procs = procs }, fresh));
        }

        return new Derived($"{d.Name}, pid every {everySeconds} s", frames);
    }

    /// <summary>
    /// Runs the recording's busy readings for <paramref name="on"/> s of every <paramref name="period"/> s;
    /// in between the processes stay resident (listed, 0% SM) and the GPU reads as the recording's own idle readings.
    /// </summary>
    public static Derived DutyCycle(this Derived d, int on, int period, int seconds)
    {
        var busy = d.Frames.Where(f => IsBusy(f.Sample)).ToList();
        if (busy.Count == 0)
        {
            // Nothing to run in bursts (the idle recording): the recording as it is.
            return d.Loop(seconds);
        }

        var idle = d.Frames.First(f => f.Sample.Gpm is { } g && g[GpmMetric.SmUtil] is < 1).Sample;
        var records = d.Frames.SelectMany(f => f.NewProcesses).GroupBy(p => p.Pid).Select(g => g.First()).ToList();
        var frames = new List<Frame>(seconds);
        var next = 0;
        ProcessUsage[] resident = [];
        for (var i = 0; i < seconds; i++)
        {
            var announce = i == 0 ? records : [];
            if (i % period < on)
            {
                var b = busy[next++ % busy.Count].Sample;
                resident = [.. b.Procs.Select(p => p with { SmPct = 0, MemPct = 0 })];
                frames.Add(new Frame(b, announce));
            }
            else
            {
                frames.Add(new Frame(idle with { Procs = resident, MemUsedBytes = busy[0].Sample.MemUsedBytes }, announce));
            }
        }

        return Retimed(new Derived($"{d.Name}, {on} s of every {period} s", frames));
    }

    /// <summary>Each reading's load split over <paramref name="n"/> processes with seeded weights (one executable, one cgroup).</summary>
    public static Derived ManyProcesses(this Derived d, int n, int seed = 1)
    {
        var random = new Random(seed);
        var weights = Enumerable.Range(0, n).Select(_ => 0.2 + random.NextDouble()).ToArray();
        var total = weights.Sum();
        var template = d.Frames.SelectMany(f => f.NewProcesses).FirstOrDefault() ?? new ProcessRecord { Pid = 0, Comm = "python3" };
        var records = Enumerable.Range(0, n).Select(i => template with { Pid = 300_000 + i, Ppid = template.Pid }).ToList();
        return new Derived($"{d.Name}, {n} processes", [.. d.Frames.Select((f, i) =>
        {
            var s = f.Sample;
            var sm = s.Procs.Sum(p => p.SmPct ?? 0);
            var mem = s.Procs.Sum(p => p.UsedMemBytes ?? 0);
            ProcessUsage[] procs = s.Procs.Count == 0 ? [] : [.. Enumerable.Range(0, n).Select(k =>
                new ProcessUsage(300_000 + k, (long)(mem * weights[k] / total), (int)Math.Round(sm * weights[k] / total), null))];
            return new Frame(s with { Procs = procs }, i == 0 ? records : []);
        })]);
    }

    /// <summary>Every process's cgroup replaced: a claim the process made (or the scheduler's path, for the control case).</summary>
    public static Derived WithCgroup(this Derived d, string cgroup) =>
        new($"{d.Name}, cgroup {cgroup.Trim()}", [.. d.Frames.Select(f => f with { NewProcesses = [.. f.NewProcesses.Select(p => p with { Cgroup = cgroup })] })]);

    /// <summary>No memory scan and no GPU libraries: the hardware alone must tell.</summary>
    public static Derived WithoutIdentity(this Derived d) =>
        new($"{d.Name}, no identity", [.. d.Frames.Select(f => f with { NewProcesses = [.. f.NewProcesses.Select(p => p with { MemoryScan = null, GpuLibs = [] })] })]);

    /// <summary>
    /// A miner time-sliced with a training process on one GPU: each reading is the trainer's reading and
    /// the miner's mixed by the miner's share of SM time (what time-slicing does to the counters), with
    /// both pids listed at their shares. The miner's identity is stripped: only the counters tell.
    /// </summary>
    public static Derived Behind(this Derived miner, Derived trainer, double[] shares, int seconds)
    {
        var work = miner.Frames.Where(f => IsBusy(f.Sample)).Select(f => f.Sample).ToList();
        var train = trainer.Frames.Where(f => IsBusy(f.Sample)).Select(f => f.Sample).ToList();
        var trainerRecord = trainer.Frames.SelectMany(f => f.NewProcesses).First() with { Pid = 400_001 };
        var minerRecord = miner.Frames.SelectMany(f => f.NewProcesses).First() with { Pid = 400_002, Ppid = 400_001, MemoryScan = null, GpuLibs = [] };
        var frames = new List<Frame>(seconds);
        for (var i = 0; i < seconds; i++)
        {
            var h = shares[i % shares.Length];
            var t = train[i % train.Count];
            var m = work[i % work.Count];
            var gpm = new GpmMetrics();
            foreach (var metric in Enum.GetValues<GpmMetric>())
            {
                if (t.Gpm?[metric] is { } a && m.Gpm?[metric] is { } b)
                {
                    gpm.Set(metric, metric is GpmMetric.PcieRxPerSec or GpmMetric.PcieTxPerSec ? Math.Max(a, b) : ((1 - h) * a) + (h * b));
                }
            }

            var sm = 100 * ((1 - h) * (t.Gpm?[GpmMetric.SmUtil] ?? 0) + (h * (m.Gpm?[GpmMetric.SmUtil] ?? 0))) / 100;
            frames.Add(new Frame(
                t with
                {
                    Gpm = gpm,
                    MemUsedBytes = t.MemUsedBytes + m.MemUsedBytes,
                    PowerMw = (long)(((1 - h) * (t.PowerMw ?? 0)) + (h * (m.PowerMw ?? 0))),
                    Procs =
                    [
                        new ProcessUsage(400_001, t.Procs.Count > 0 ? t.Procs[0].UsedMemBytes : null, (int)Math.Round((1 - h) * sm), null),
                        new ProcessUsage(400_002, m.Procs.Count > 0 ? m.Procs[0].UsedMemBytes : null, (int)Math.Round(h * sm), null),
                    ],
                },
                i == 0 ? [trainerRecord, minerRecord] : []));
        }

        return Retimed(new Derived($"{miner.Name} behind {trainer.Name}", frames));
    }

    private static bool IsBusy(GpuSample s) => s.Procs.Count > 0 && s.Gpm is { } g && g[GpmMetric.SmUtil] >= 2 && g[GpmMetric.DramBwUtil] is not null;

    private static Derived Retimed(Derived d) =>
        d with { Frames = [.. d.Frames.Select((f, i) => f with { Sample = f.Sample with { Time = T0 + i } })] };
}
