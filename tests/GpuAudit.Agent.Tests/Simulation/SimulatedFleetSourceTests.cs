using GpuAudit.Agent.Simulation;

namespace GpuAudit.Agent.Tests.Simulation;

public class SimulatedFleetSourceTests
{
    private static readonly RecordedTrace[] Pool = [.. new[] { "mixed", "train_cnn", "hash_sha256" }.Select(n => RecordedTrace.Load(RepoPaths.Trace(n)))];

    [Fact]
    public async Task Makes_the_requested_shape_with_distinct_gpus_and_pids()
    {
        using var source = new SimulatedFleetSource(Pool, new FleetShape(8, 32) { Fast = true, MaxTicks = 3 }, TimeProvider.System);

        var first = (await source.NextAsync(CancellationToken.None))!;

        Assert.Equal(8, source.Devices.Select(d => d.Uuid).Distinct().Count());
        Assert.Equal(8, first.Samples.Count);
        Assert.All(first.Samples, s => Assert.Equal(32, s.Procs.Count));
        Assert.Equal(256, first.NewProcesses.Select(p => p.Pid).Distinct().Count());
        Assert.Empty((await source.NextAsync(CancellationToken.None))!.NewProcesses);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_fleet()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1000));
        using var a = new SimulatedFleetSource(Pool, new FleetShape(4, 3, Seed: 7) { Fast = true }, clock);
        using var b = new SimulatedFleetSource(Pool, new FleetShape(4, 3, Seed: 7) { Fast = true }, clock);

        for (var i = 0; i < 20; i++)
        {
            var x = (await a.NextAsync(CancellationToken.None))!;
            var y = (await b.NextAsync(CancellationToken.None))!;
            Assert.Equal(x.Samples.Select(s => (s.Time, s.PowerMw, s.UtilGpuPct, s.EnergyMj)), y.Samples.Select(s => (s.Time, s.PowerMw, s.UtilGpuPct, s.EnergyMj)));
            Assert.Equal(x.Samples.SelectMany(s => s.Procs), y.Samples.SelectMany(s => s.Procs));
        }
    }

    [Fact]
    public async Task Stops_after_max_ticks_and_energy_only_grows()
    {
        using var source = new SimulatedFleetSource(Pool, new FleetShape(2, 1) { Fast = true, MaxTicks = 50 }, TimeProvider.System);

        var energies = new List<long>();
        while (await source.NextAsync(CancellationToken.None) is { } tick)
        {
            energies.Add(tick.Samples[0].EnergyMj!.Value);
        }

        Assert.Equal(50, energies.Count);
        Assert.Equal(energies.Order(), energies);
    }

    /// <summary>
    /// The must-show of issue 11 as `replay --simulate-gpus 8 --simulate-procs N --job-map DIR` runs
    /// it: every GPU the agent classes hash for 15 s or more has an open violation naming its job,
    /// whatever the number of processes sharing it.
    /// </summary>
    [Theory]
    [InlineData(9)]
    [InlineData(16)]
    [InlineData(32)]
    public async Task Every_gpu_classed_hash_for_15_s_has_an_open_violation_naming_its_job(int processes)
    {
        using var source = new SimulatedFleetSource(Pool, new FleetShape(8, processes) { Fast = true, MaxTicks = 120 }, TimeProvider.System);
        var jobs = source.Devices.ToDictionary(d => d.Index, d => new JobRef((4240 + d.Index).ToString(System.Globalization.CultureInfo.InvariantCulture), "gpu-map"));
        var pipeline = new AuditPipeline(source.Devices, new RecordedInsightProvider(), new MapOf(jobs), new PolicyEngine(AuditPolicy.Default, "sim"));
        var hashSince = new Dictionary<int, double>();
        var checkedGpus = new HashSet<int>();
        while (await source.NextAsync(CancellationToken.None) is { } tick)
        {
            var analysis = pipeline.Process(tick);
            foreach (var gpu in analysis.Gpus)
            {
                if (gpu.Verdict?.Class != WorkloadClass.Hash)
                {
                    hashSince.Remove(gpu.Device.Index);
                    continue;
                }

                var since = hashSince.TryAdd(gpu.Device.Index, tick.Time) ? tick.Time : hashSince[gpu.Device.Index];
                if (tick.Time - since >= 15)
                {
                    checkedGpus.Add(gpu.Device.Index);
                    Assert.Contains(analysis.Policy.Active, v => v.Uuid == gpu.Device.Uuid && v.Rule == PolicyRule.HashCompute && v.Job == jobs[gpu.Device.Index].Id);
                }
            }
        }

        Assert.NotEmpty(checkedGpus);
    }

    private sealed class MapOf(Dictionary<int, JobRef> jobs) : IGpuJobMap
    {
        public JobRef? JobFor(GpuDevice gpu) => jobs.GetValueOrDefault(gpu.Index);
    }

    [Fact]
    public void An_impossible_shape_is_a_user_error()
    {
        Assert.Throws<UserInputException>(() => new SimulatedFleetSource(Pool, new FleetShape(0, 1), TimeProvider.System));
    }
}
