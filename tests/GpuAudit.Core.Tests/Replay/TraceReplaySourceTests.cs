using GpuAudit.Core.Replay;

namespace GpuAudit.Core.Tests.Replay;

public class TraceReplaySourceTests
{
    [Fact]
    public async Task Fast_replay_yields_every_sample_of_the_trace_in_order()
    {
        var trace = RecordedTrace.Load(RepoPaths.Trace("mixed"));
        using var source = new TraceReplaySource([RepoPaths.Trace("mixed")], new ReplayOptions { Fast = true }, TimeProvider.System);

        var ticks = await Drain(source);

        Assert.Equal(trace.Samples.Select(s => s.Time), ticks.SelectMany(t => t.Samples).Select(s => s.Time));
        Assert.Equal([775, 776], ticks.SelectMany(t => t.NewProcesses).Select(p => p.Pid));
        Assert.All(ticks, t => Assert.All(t.Collectors, c => Assert.True(c.Up)));
    }

    [Fact]
    public async Task Several_traces_play_together_as_the_gpus_of_one_node()
    {
        string[] files = [RepoPaths.Trace("mixed"), RepoPaths.Trace("hash_sha256")];
        using var source = new TraceReplaySource(files, new ReplayOptions { Fast = true }, TimeProvider.System);

        var ticks = await Drain(source);

        Assert.Equal([0, 1], source.Devices.Select(d => d.Index));
        Assert.Equal(2, source.Devices.Select(d => d.Uuid).Distinct().Count());
        Assert.EndsWith("-replay1", source.Devices[1].Uuid, StringComparison.Ordinal);
        var first = ticks[0];
        Assert.Equal(2, first.Samples.Count);
        Assert.Equal([0, 1], first.Samples.Select(s => s.Gpu));
        Assert.Contains(ticks.SelectMany(t => t.Samples), s => s.Gpu == 1 && s.Procs.Any(p => p.Pid == 655));
    }

    [Fact]
    public async Task Until_stops_after_that_many_seconds_of_trace_time()
    {
        using var source = new TraceReplaySource([RepoPaths.Trace("mixed")], new ReplayOptions { Fast = true, UntilSeconds = 5 }, TimeProvider.System);

        var ticks = await Drain(source);

        Assert.InRange(ticks[^1].Time - ticks[0].Time, 4, 5);
    }

    [Fact]
    public async Task Looping_keeps_time_and_energy_moving_forward()
    {
        var length = RecordedTrace.Load(RepoPaths.Trace("hash_sha256")).Samples.Count;
        using var source = new TraceReplaySource([RepoPaths.Trace("hash_sha256")], new ReplayOptions { Fast = true, Loop = true }, TimeProvider.System);

        var samples = new List<GpuSample>();
        while (samples.Count < (length * 2) + 3)
        {
            samples.AddRange((await source.NextAsync(CancellationToken.None))!.Samples);
        }

        for (var i = 1; i < samples.Count; i++)
        {
            Assert.True(samples[i].Time > samples[i - 1].Time, $"time went back at sample {i}");
            Assert.True(samples[i].EnergyMj >= samples[i - 1].EnergyMj, $"energy went back at sample {i}");
        }
    }

    [Fact]
    public async Task At_recorded_speed_the_source_waits_on_its_clock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        using var source = new TraceReplaySource([RepoPaths.Trace("mixed")], new ReplayOptions(), clock);
        await source.NextAsync(CancellationToken.None);

        var second = source.NextAsync(CancellationToken.None).AsTask();
        await Task.Delay(50);
        Assert.False(second.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(2));

        Assert.NotNull(await second.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void No_trace_is_a_user_error()
    {
        Assert.Throws<UserInputException>(() => new TraceReplaySource([], new ReplayOptions(), TimeProvider.System));
    }

    private static async Task<List<Tick>> Drain(ISampleSource source)
    {
        var ticks = new List<Tick>();
        while (await source.NextAsync(CancellationToken.None) is { } tick)
        {
            ticks.Add(tick);
        }

        return ticks;
    }
}
