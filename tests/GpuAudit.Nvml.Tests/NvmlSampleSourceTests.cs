using GpuAudit.Core.Samples;
using GpuAudit.Nvml.Interop;
using Microsoft.Extensions.Time.Testing;

namespace GpuAudit.Nvml.Tests;

public class NvmlSampleSourceTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan OneSecond = TimeSpan.FromSeconds(1);

    private readonly FakeTimeProvider _time = new(Start);
    private readonly FakeDescriber _describer = new();

    [Fact]
    public void Devices_come_from_nvml_keyed_by_uuid()
    {
        var nvml = new FakeNvml(H100("GPU-aaaa"), new FakeGpu { Uuid = "GPU-bbbb", PciBusId = "00000000:5E:00.0", GpmSupported = false, MigEnabled = true });
        using var source = new NvmlSampleSource(nvml, _describer, _time, OneSecond, "node-1");

        Assert.Equal("node-1", source.Host);
        Assert.Equal(
            [
                new GpuDevice(0, "GPU-aaaa", "NVIDIA H100 80GB HBM3", "580.159.04", 85_520_809_984, true, "00000000:3B:00.0", false),
                new GpuDevice(1, "GPU-bbbb", "NVIDIA H100 80GB HBM3", "580.159.04", 85_520_809_984, false, "00000000:5E:00.0", true),
            ],
            source.Devices);
    }

    [Fact]
    public async Task Next_waits_for_the_interval_on_the_time_provider()
    {
        using var source = new NvmlSampleSource(new FakeNvml(H100("GPU-aaaa")), _describer, _time, OneSecond);

        var next = source.NextAsync(CancellationToken.None);
        Assert.False(next.IsCompleted);
        _time.Advance(OneSecond);
        var tick = await next;

        var expected = (Start + OneSecond).ToUnixTimeSeconds();
        Assert.NotNull(tick);
        Assert.Equal(expected, tick.Time);
        var sample = Assert.Single(tick.Samples);
        Assert.Equal(expected, sample.Time);
        Assert.Equal(new CollectorStatus(0, true), Assert.Single(tick.Collectors));
    }

    [Fact]
    public void A_poll_reads_every_field_in_nvml_units()
    {
        using var source = new NvmlSampleSource(new FakeNvml(H100("GPU-aaaa")), _describer, _time, OneSecond);

        var sample = Assert.Single(source.Poll().Samples);

        Assert.Equal(0, sample.Gpu);
        Assert.Equal(87, sample.UtilGpuPct);
        Assert.Equal(41, sample.UtilMemPct);
        Assert.Equal(10_000_000_000, sample.MemUsedBytes);
        Assert.Equal(312_456, sample.PowerMw);
        Assert.Equal(1980, sample.SmClockMhz);
        Assert.Equal(2619, sample.MemClockMhz);
        Assert.Equal(54, sample.TempC);
        Assert.Equal(123_456_789, sample.EnergyMj);
    }

    [Fact]
    public void The_process_list_grows_and_retries_when_nvml_needs_more_room()
    {
        var gpu = H100("GPU-aaaa");
        for (uint pid = 1000; pid < 1040; pid++)
        {
            gpu.Processes.Add(new NvmlProcessInfo { Pid = pid, UsedGpuMemory = pid * 1024UL });
        }

        using var source = new NvmlSampleSource(new FakeNvml(gpu), _describer, _time, OneSecond);
        var sample = Assert.Single(source.Poll().Samples);

        Assert.Equal(40, sample.Procs.Count);
        Assert.Equal(new ProcessUsage(1039, 1039 * 1024, null, null), sample.Procs[^1]);
        Assert.Equal(2, gpu.ComputeProcessCalls);

        // The grown buffer is kept: the next poll needs one call.
        source.Poll();
        Assert.Equal(3, gpu.ComputeProcessCalls);
    }

    [Fact]
    public void Memory_nvml_cannot_attribute_is_missing_not_huge()
    {
        var gpu = H100("GPU-aaaa");
        gpu.Processes.Add(new NvmlProcessInfo { Pid = 7, UsedGpuMemory = NvmlProcessInfo.MemoryNotAvailable });
        using var source = new NvmlSampleSource(new FakeNvml(gpu), _describer, _time, OneSecond);

        Assert.Null(Assert.Single(Assert.Single(source.Poll().Samples).Procs).UsedMemBytes);
    }

    [Fact]
    public void Per_process_utilization_takes_each_pids_newest_sample_and_carries_the_timestamp()
    {
        var gpu = H100("GPU-aaaa");
        gpu.Processes.Add(new NvmlProcessInfo { Pid = 42, UsedGpuMemory = 1 << 30 });
        gpu.Processes.Add(new NvmlProcessInfo { Pid = 43, UsedGpuMemory = 1 << 20 });
        gpu.UtilizationSamples.Add(new NvmlProcessUtilizationSample { Pid = 42, TimeStamp = 1_000, SmUtil = 10, MemUtil = 1 });
        gpu.UtilizationSamples.Add(new NvmlProcessUtilizationSample { Pid = 42, TimeStamp = 2_000, SmUtil = 90, MemUtil = 30 });
        var other = H100("GPU-bbbb");
        using var source = new NvmlSampleSource(new FakeNvml(gpu, other), _describer, _time, OneSecond);

        var first = source.Poll().Samples[0];
        Assert.Equal([new ProcessUsage(42, 1 << 30, 90, 30), new ProcessUsage(43, 1 << 20, null, null)], first.Procs);

        // Nothing new since 2000 µs: NVML answers NOT_FOUND, which is "no new sample", not a failure.
        var second = source.Poll();
        Assert.Equal([new ProcessUsage(42, 1 << 30, null, null), new ProcessUsage(43, 1 << 20, null, null)], second.Samples[0].Procs);
        Assert.All(second.Collectors, c => Assert.True(c.Up));

        gpu.UtilizationSamples.Add(new NvmlProcessUtilizationSample { Pid = 43, TimeStamp = 3_000, SmUtil = 55, MemUtil = 5 });
        var third = source.Poll().Samples[0];
        Assert.Equal(new ProcessUsage(43, 1 << 20, 55, 5), third.Procs[1]);

        Assert.Equal([0UL, 2_000UL, 2_000UL], gpu.LastSeenArguments);
        Assert.Empty(other.LastSeenArguments); // no processes on the other GPU: nothing to ask
    }

    [Fact]
    public void A_lost_gpu_is_reported_down_and_the_other_gpu_is_still_sampled()
    {
        var lost = H100("GPU-aaaa");
        var healthy = H100("GPU-bbbb");
        using var source = new NvmlSampleSource(new FakeNvml(lost, healthy), _describer, _time, OneSecond);
        lost.DeviceFailure = NvmlReturn.GpuIsLost;

        var tick = source.Poll();

        Assert.Equal(1, Assert.Single(tick.Samples).Gpu);
        Assert.False(tick.Collectors[0].Up);
        Assert.Contains("NVML_ERROR_GPU_IS_LOST", tick.Collectors[0].Error, StringComparison.Ordinal);
        Assert.Equal(new CollectorStatus(1, true), tick.Collectors[1]);

        // Polling goes on: when the GPU answers again, it is back.
        lost.DeviceFailure = NvmlReturn.Success;
        Assert.All(source.Poll().Collectors, c => Assert.True(c.Up));
    }

    [Fact]
    public void An_unsupported_query_leaves_its_field_missing_and_the_gpu_up()
    {
        var gpu = H100("GPU-aaaa");
        gpu.Failures["power"] = NvmlReturn.NotSupported;
        gpu.Failures["energy"] = NvmlReturn.FunctionNotFound;
        gpu.Failures["process-utilization"] = NvmlReturn.NotSupported;
        gpu.Processes.Add(new NvmlProcessInfo { Pid = 9, UsedGpuMemory = 5 });
        using var source = new NvmlSampleSource(new FakeNvml(gpu), _describer, _time, OneSecond);

        var tick = source.Poll();

        var sample = Assert.Single(tick.Samples);
        Assert.Null(sample.PowerMw);
        Assert.Null(sample.EnergyMj);
        Assert.Equal(54, sample.TempC);
        Assert.Equal(new ProcessUsage(9, 5, null, null), Assert.Single(sample.Procs));
        Assert.True(Assert.Single(tick.Collectors).Up);
    }

    [Fact]
    public void Gpm_reports_every_metric_over_the_interval_between_samples()
    {
        var gpu = H100("GPU-aaaa");
        foreach (var metric in GpmMetricInfo.All)
        {
            gpu.GpmValues[GpmMetricInfo.NvmlId(metric)] = 10 + (int)metric;
        }

        using var source = new NvmlSampleSource(new FakeNvml(gpu), _describer, _time, OneSecond);
        _time.Advance(OneSecond);

        var sample = Assert.Single(source.Poll().Samples);

        Assert.NotNull(sample.Gpm);
        Assert.Equal(1.0, sample.GpmIntervalS);
        foreach (var metric in GpmMetricInfo.All)
        {
            Assert.Equal(10 + (int)metric, sample.Gpm[metric]);
        }
    }

    [Fact]
    public void Gpm_samples_closer_than_half_a_second_give_no_reading_instead_of_zeros()
    {
        var gpu = H100("GPU-aaaa");
        gpu.GpmValues[GpmMetricInfo.NvmlId(GpmMetric.IntegerUtil)] = 80;
        using var source = new NvmlSampleSource(new FakeNvml(gpu), _describer, _time, TimeSpan.FromMilliseconds(200));

        _time.Advance(TimeSpan.FromMilliseconds(200));
        var early = Assert.Single(source.Poll().Samples);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        var stillEarly = Assert.Single(source.Poll().Samples);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        var due = Assert.Single(source.Poll().Samples);

        Assert.Null(early.Gpm);
        Assert.Null(early.GpmIntervalS);
        Assert.Null(stillEarly.Gpm);
        Assert.Equal(80, due.Gpm![GpmMetric.IntegerUtil]);
        Assert.Equal(0.6, due.GpmIntervalS!.Value, 6);
        Assert.Equal(2, gpu.GpmSampleGets); // one at start, one for the reading: none wasted on early polls
    }

    [Fact]
    public void Nan_and_per_metric_errors_are_missing_not_zero()
    {
        var gpu = H100("GPU-aaaa");
        gpu.GpmValues[GpmMetricInfo.NvmlId(GpmMetric.SmUtil)] = double.NaN;
        gpu.GpmValues[GpmMetricInfo.NvmlId(GpmMetric.Fp64Util)] = 12.5;
        gpu.GpmMetricErrors[GpmMetricInfo.NvmlId(GpmMetric.NvlinkTotalRxPerSec)] = NvmlReturn.NotSupported;
        gpu.GpmValues[GpmMetricInfo.NvmlId(GpmMetric.NvlinkTotalRxPerSec)] = 99;
        using var source = new NvmlSampleSource(new FakeNvml(gpu), _describer, _time, OneSecond);
        _time.Advance(OneSecond);

        var gpm = Assert.Single(source.Poll().Samples).Gpm!;

        Assert.Null(gpm[GpmMetric.SmUtil]);
        Assert.Null(gpm[GpmMetric.NvlinkTotalRxPerSec]);
        Assert.Equal(12.5, gpm[GpmMetric.Fp64Util]);
        Assert.Equal(0, gpm[GpmMetric.IntegerUtil]);
    }

    [Fact]
    public void No_gpm_on_gpus_without_it()
    {
        var gpu = new FakeGpu { Uuid = "GPU-a100", Name = "NVIDIA A100-SXM4-80GB", GpmSupported = false };
        var nvml = new FakeNvml(gpu);
        using var source = new NvmlSampleSource(nvml, _describer, _time, OneSecond);
        _time.Advance(OneSecond);

        var sample = Assert.Single(source.Poll().Samples);
        Assert.Null(sample.Gpm);
        Assert.Equal(0, nvml.LiveGpmSamples);
    }

    [Fact]
    public void New_processes_are_described_once_in_the_tick_that_first_names_them()
    {
        var gpu = H100("GPU-aaaa");
        gpu.Processes.Add(new NvmlProcessInfo { Pid = 42, UsedGpuMemory = 1 });
        gpu.Processes.Add(new NvmlProcessInfo { Pid = 77, UsedGpuMemory = 1 });
        _describer.Known[42] = new ProcessRecord { Pid = 42, Comm = "python3" };
        using var source = new NvmlSampleSource(new FakeNvml(gpu), _describer, _time, OneSecond);

        var first = source.Poll();
        var second = source.Poll();

        // 77 vanished before /proc could be read: still one record, so every pid in the trace has its line.
        Assert.Equal([new ProcessRecord { Pid = 42, Comm = "python3" }, new ProcessRecord { Pid = 77 }], first.NewProcesses);
        Assert.Empty(second.NewProcesses);
        Assert.Equal([42, 77], _describer.Asked);
    }

    [Fact]
    public void Dispose_frees_gpm_samples_and_shuts_nvml_down()
    {
        var nvml = new FakeNvml(H100("GPU-aaaa"), H100("GPU-bbbb"));
        var source = new NvmlSampleSource(nvml, _describer, _time, OneSecond);
        Assert.Equal(4, nvml.LiveGpmSamples);

        source.Dispose();

        Assert.Equal(0, nvml.LiveGpmSamples);
        Assert.True(nvml.Disposed);
    }

    [Fact]
    public async Task Cancellation_stops_the_wait()
    {
        using var source = new NvmlSampleSource(new FakeNvml(H100("GPU-aaaa")), _describer, _time, OneSecond);
        using var cancel = new CancellationTokenSource();

        var next = source.NextAsync(cancel.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await next);
    }

    internal static FakeGpu H100(string uuid) => new() { Uuid = uuid };
}
