using GpuAudit.Core.Trace;

namespace GpuAudit.Agent.Simulation;

/// <summary>
/// A node of N GPUs with M processes each, made by resampling real recorded traces with a fixed
/// seed: each GPU plays one recording (chosen by the seed) from its own offset, and the
/// recording's per-process load is split among M synthetic processes with seeded weights. Used for
/// load, soak and overhead tests, where the pipeline must see realistic, varied data at scale.
/// </summary>
public sealed class SimulatedFleetSource : ISampleSource
{
    private readonly SimulatedGpu[] _gpus;

    // Every simulated collector is always up: one immutable status per GPU, shared by every tick.
    private readonly CollectorStatus[] _collectors;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly bool _fast;
    private readonly long? _maxTicks;
    private readonly PeriodicTimer? _timer;
    private double _clock;
    private long _ticks;
    private bool _processesAnnounced;

    public SimulatedFleetSource(IReadOnlyList<RecordedTrace> pool, FleetShape shape, TimeProvider time)
    {
        if (pool.Count == 0 || pool.All(t => t.Samples.Count == 0))
        {
            throw new UserInputException("the simulated fleet needs at least one trace with samples to resample");
        }

        if (shape.Gpus is < 1 or > 64 || shape.ProcessesPerGpu is < 0 or > 1024)
        {
            throw new UserInputException("a simulated node has 1-64 GPUs and 0-1024 processes per GPU") { Input = UserInput.SimulatedFleet };
        }

        _time = time;
        _interval = shape.Interval;
        _fast = shape.Fast;
        _maxTicks = shape.MaxTicks;
        var random = new Random(shape.Seed);
        var usable = pool.Where(t => t.Samples.Count > 0).ToList();
        var devices = new List<GpuDevice>();
        _gpus = new SimulatedGpu[shape.Gpus];
        for (var g = 0; g < shape.Gpus; g++)
        {
            var trace = usable[random.Next(usable.Count)];
            var device = trace.Header.Gpus[0] with { Index = g, Uuid = $"GPU-sim-{shape.Seed:x4}-{g:x4}", PciBusId = $"00000000:{0x18 + g:X2}:00.0" };
            devices.Add(device);
            _gpus[g] = new SimulatedGpu(device, trace, random.Next(trace.Samples.Count), shape.ProcessesPerGpu, 100_000 + (g * 1000), random);
        }

        Devices = devices;
        _collectors = new CollectorStatus[shape.Gpus];
        for (var g = 0; g < shape.Gpus; g++)
        {
            _collectors[g] = new CollectorStatus(g, true);
        }

        _clock = time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        if (!_fast)
        {
            _timer = new PeriodicTimer(_interval, time);
        }
    }

    public string Node => "simulated";

    public IReadOnlyList<GpuDevice> Devices { get; }

    public async ValueTask<Tick?> NextAsync(CancellationToken cancellationToken)
    {
        if (_maxTicks is { } max && _ticks >= max)
        {
            return null;
        }

        if (_timer is not null && _ticks > 0 && !await _timer.WaitForNextTickAsync(cancellationToken))
        {
            return null;
        }

        _ticks++;
        _clock += _interval.TotalSeconds;
        var samples = new GpuSample[_gpus.Length];
        for (var g = 0; g < _gpus.Length; g++)
        {
            samples[g] = _gpus[g].Next(_clock, _interval.TotalSeconds);
        }

        IReadOnlyList<ProcessRecord> processes = [];
        if (!_processesAnnounced)
        {
            processes = [.. _gpus.SelectMany(g => g.Processes)];
            _processesAnnounced = true;
        }

        return new Tick(_clock, samples, processes, _collectors);
    }

    public void Dispose() => _timer?.Dispose();
}

/// <summary>The size and pace of a simulated fleet.</summary>
public sealed record FleetShape(int Gpus, int ProcessesPerGpu, int Seed = 1)
{
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>No pacing: ticks as fast as the consumer takes them.</summary>
    public bool Fast { get; init; }

    /// <summary>Stop after this many ticks (null: run until cancelled).</summary>
    public long? MaxTicks { get; init; }
}
