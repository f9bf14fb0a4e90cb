using GpuAudit.Nvml.Interop;

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

        Assert.Equal("node-1", source.Node);
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
        Assert.True(tick.Collectors[0].FullyWatched);
    }

    [Fact]
    public void A_poll_reads_every_field_in_nvml_units()
    {
        using var source = new NvmlSampleSource(new FakeNvml(H100("GPU-aaaa")), _describer, _time, OneSecond);

        var sample = Assert.Single(source.Poll().Samples);

        Assert.Equal(0, sample.Gpu);
        Assert.Equal(87, sample.UtilGpuPct);
        Assert.Equal(41, sample.UtilMemPct);
        Assert.Equal(10_000_000_000 - 503_316_480, sample.MemUsedBytes); // _v2: used without the reserved memory
        Assert.Equal(503_316_480, sample.MemReservedBytes);
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
        using var source = IntegerPipeAt80(TimeSpan.FromMilliseconds(200), out var gpu);

        var early = PollAfter(source, TimeSpan.FromMilliseconds(200));
        var stillEarly = PollAfter(source, TimeSpan.FromMilliseconds(200));
        var due = PollAfter(source, TimeSpan.FromMilliseconds(200));

        Assert.Null(early.Gpm);
        Assert.Null(early.GpmIntervalS);
        Assert.Null(stillEarly.Gpm);
        Assert.Equal(80, due.Gpm![GpmMetric.IntegerUtil]);
        Assert.Equal(0.6, due.GpmIntervalS!.Value, 6);
        Assert.Equal(2, gpu.GpmSampleGets); // one at start, one for the reading: none wasted on early polls
    }

    [Fact]
    public void At_a_half_second_interval_a_poll_a_few_milliseconds_early_still_reads_gpm()
    {
        using var source = IntegerPipeAt80(TimeSpan.FromMilliseconds(500), out _);

        var first = PollAfter(source, TimeSpan.FromMilliseconds(496));
        var second = PollAfter(source, TimeSpan.FromMilliseconds(497));

        Assert.Equal(80, first.Gpm![GpmMetric.IntegerUtil]);
        Assert.Equal(0.496, first.GpmIntervalS!.Value, 6);
        Assert.Equal(80, second.Gpm![GpmMetric.IntegerUtil]);
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
    public void A_reused_pid_is_a_new_process_described_in_the_tick_its_start_time_changes()
    {
        var gpu = H100("GPU-aaaa");
        gpu.Processes.Add(new NvmlProcessInfo { Pid = 42, UsedGpuMemory = 1 });
        _describer.Known[42] = new ProcessRecord { Pid = 42, StartTicks = 1000, Comm = "python3", Exe = "/usr/bin/python3" };
        _describer.Starts[42] = 1000;
        using var source = new NvmlSampleSource(new FakeNvml(gpu), _describer, _time, OneSecond);

        var first = source.Poll();
        var same = source.Poll();

        // The trainer exits and the kernel hands pid 42 to a miner between two polls.
        _describer.Known[42] = new ProcessRecord { Pid = 42, StartTicks = 5000, Comm = "xmrig", Exe = "/tmp/xmrig" };
        _describer.Starts[42] = 5000;
        var reused = source.Poll();
        var after = source.Poll();

        Assert.Equal("/usr/bin/python3", Assert.Single(first.NewProcesses).Exe);
        Assert.Empty(same.NewProcesses);
        Assert.Equal("/tmp/xmrig", Assert.Single(reused.NewProcesses).Exe);
        Assert.Empty(after.NewProcesses);
    }

    [Fact]
    public void Describing_new_processes_stops_at_the_tick_budget_and_goes_on_next_tick()
    {
        var gpu = H100("GPU-aaaa");
        for (var pid = 1; pid <= 5; pid++)
        {
            gpu.Processes.Add(new NvmlProcessInfo { Pid = (uint)pid, UsedGpuMemory = 1 });
        }

        // Each description takes 100 ms of the poll thread (a process with a huge maps file).
        var slow = new SlowDescriber(_time, TimeSpan.FromMilliseconds(100));
        using var source = new NvmlSampleSource(new FakeNvml(gpu), slow, _time, OneSecond);

        var first = source.Poll();
        var second = source.Poll();

        Assert.Equal([1, 2, 3], first.NewProcesses.Select(p => p.Pid));
        Assert.Equal([4, 5], second.NewProcesses.Select(p => p.Pid));
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

    [Fact]
    public void Without_memory_info_v2_used_memory_comes_from_v1_and_reserved_is_missing()
    {
        var nvml = new FakeNvml(H100("GPU-aaaa"));
        nvml.Missing.Add("memory-v2");
        using var source = new NvmlSampleSource(nvml, _describer, _time, OneSecond);

        var sample = Assert.Single(source.Poll().Samples);

        Assert.Equal(10_000_000_000, sample.MemUsedBytes);
        Assert.Null(sample.MemReservedBytes);
    }

    [Fact]
    public void Temperature_comes_from_the_versioned_call_and_falls_back_to_the_deprecated_one()
    {
        var modern = new FakeNvml(H100("GPU-aaaa"));
        modern.Missing.Add("temperature"); // a 13.x driver that dropped the deprecated call
        using (var source = new NvmlSampleSource(modern, _describer, _time, OneSecond))
        {
            Assert.Equal(54, Assert.Single(source.Poll().Samples).TempC);
        }

        var r535 = new FakeNvml(H100("GPU-aaaa"));
        r535.Missing.Add("temperature-v"); // R535 has no nvmlDeviceGetTemperatureV
        using (var source = new NvmlSampleSource(r535, _describer, _time, OneSecond))
        {
            var tick = source.Poll();
            Assert.Equal(54, Assert.Single(tick.Samples).TempC);
            Assert.Null(tick.Collectors[0].FailedCalls); // a missing export is not an error
        }
    }

    [Theory]
    [InlineData("energy")]
    [InlineData("process-utilization")]
    [InlineData("gpm-sample")]
    [InlineData("power")]
    public void An_unknown_error_from_one_call_loses_that_field_only(string function)
    {
        var gpu = H100("GPU-aaaa");
        gpu.Processes.Add(new NvmlProcessInfo { Pid = 9, UsedGpuMemory = 5 });
        gpu.UtilizationSamples.Add(new NvmlProcessUtilizationSample { Pid = 9, TimeStamp = 10, SmUtil = 80 });
        using var source = new NvmlSampleSource(new FakeNvml(gpu), _describer, _time, OneSecond);
        _time.Advance(OneSecond);
        gpu.Failures[function] = NvmlReturn.Unknown;

        var tick = source.Poll();

        var sample = Assert.Single(tick.Samples);
        var collector = Assert.Single(tick.Collectors);
        Assert.True(collector.FullyWatched, collector.Error);
        Assert.Equal(87, sample.UtilGpuPct);
        Assert.Equal(9, Assert.Single(sample.Procs).Pid);
        var failure = Assert.Single(collector.FailedCalls!);
        Assert.Equal("NVML_ERROR_UNKNOWN", failure.Code);
        switch (function)
        {
            case "energy": Assert.Null(sample.EnergyMj); break;
            case "process-utilization": Assert.Null(sample.Procs[0].SmPct); break;
            case "gpm-sample": Assert.Null(sample.Gpm); break;
            default: Assert.Null(sample.PowerMw); break;
        }
    }

    [Fact]
    public void A_gpu_where_every_call_fails_is_down()
    {
        var gpu = H100("GPU-aaaa");
        using var source = new NvmlSampleSource(new FakeNvml(gpu), _describer, _time, OneSecond);
        foreach (var function in new[] { "utilization", "memory-v2", "power", "clock-Sm", "clock-Memory", "temperature-v", "energy", "processes", "gpm-sample" })
        {
            gpu.Failures[function] = NvmlReturn.Unknown;
        }

        var tick = source.Poll();

        Assert.Empty(tick.Samples);
        Assert.False(tick.Collectors[0].Up);
        Assert.Contains("no field could be read", tick.Collectors[0].Error, StringComparison.Ordinal);
    }

    [Fact]
    public void No_permission_on_the_process_list_is_reported_not_an_empty_gpu()
    {
        var gpu = H100("GPU-aaaa");
        gpu.Processes.Add(new NvmlProcessInfo { Pid = 9, UsedGpuMemory = 5 });
        gpu.Failures["processes"] = NvmlReturn.NoPermission;
        using var source = new NvmlSampleSource(new FakeNvml(gpu), _describer, _time, OneSecond);

        var tick = source.Poll();

        var collector = Assert.Single(tick.Collectors);
        Assert.True(collector.Up); // telemetry still flows to the classifier
        Assert.False(collector.ProcessesVisible);
        Assert.False(collector.FullyWatched);
        Assert.Contains("NVML_ERROR_NO_PERMISSION", collector.Error, StringComparison.Ordinal);
        Assert.Contains("run as root", collector.Error, StringComparison.Ordinal);
        Assert.Empty(Assert.Single(tick.Samples).Procs);
    }

    [Fact]
    public void A_huge_process_count_is_not_allocated_for_and_is_reported_once()
    {
        var gpu = H100("GPU-aaaa");
        gpu.ClaimedProcessCount = 0x7fffffff;
        var warnings = new List<string>();
        using var source = new NvmlSampleSource(new FakeNvml(gpu), _describer, _time, OneSecond, warn: warnings.Add);

        var first = source.Poll();
        var second = source.Poll();

        Assert.All(gpu.ProcessBufferLengths, length => Assert.True(length <= NvmlSampleSource.MaxProcessesPerGpu));
        Assert.False(first.Collectors[0].FullyWatched);
        Assert.Contains("2147483647 processes reported, above the cap of 4096", first.Collectors[0].Error, StringComparison.Ordinal);
        Assert.False(second.Collectors[0].FullyWatched);
        Assert.Single(warnings);
    }

    [Fact]
    public void A_list_that_keeps_growing_stops_at_the_cap_and_takes_the_gpu_out_of_fully_watched()
    {
        var gpu = H100("GPU-aaaa");
        gpu.ClaimedProcessCount = 3000; // INSUFFICIENT_SIZE whatever the buffer
        using var source = new NvmlSampleSource(new FakeNvml(gpu), _describer, _time, OneSecond);

        for (var i = 0; i < 5; i++)
        {
            var tick = source.Poll();
            Assert.False(tick.Collectors[0].FullyWatched);
            Assert.Contains("still INSUFFICIENT_SIZE", tick.Collectors[0].Error, StringComparison.Ordinal);
        }

        Assert.Equal(NvmlSampleSource.MaxProcessesPerGpu, gpu.ProcessBufferLengths.Max());
        Assert.True(gpu.ProcessBufferLengths.Count <= 5 * 4);
    }

    [Fact]
    public void Per_process_utilization_asks_with_at_least_the_72_entries_r535_requires()
    {
        var gpu = H100("GPU-aaaa");
        gpu.Processes.Add(new NvmlProcessInfo { Pid = 9, UsedGpuMemory = 5 });
        gpu.UtilizationSamples.Add(new NvmlProcessUtilizationSample { Pid = 9, TimeStamp = 10, SmUtil = 80, MemUtil = 7 });
        using var source = new NvmlSampleSource(new FakeNvml(gpu), _describer, _time, OneSecond);

        Assert.Equal(new ProcessUsage(9, 5, 80, 7), Assert.Single(Assert.Single(source.Poll().Samples).Procs));
    }

    [Fact]
    public void A_gpu_unreadable_at_start_up_is_exported_down_and_retried_until_it_answers()
    {
        var flaky = new FakeGpu { Uuid = "GPU-late", PciBusId = "00000000:5E:00.0", HandleFailure = NvmlReturn.GpuIsLost };
        var nvml = new FakeNvml(H100("GPU-aaaa"), flaky);
        var warnings = new List<string>();
        using var source = new NvmlSampleSource(nvml, _describer, _time, OneSecond, warn: warnings.Add);

        Assert.Equal("unavailable-gpu-1", source.Devices[1].Uuid);
        Assert.Contains(source.StartupProblems, p => p.StartsWith("GPU 1 not readable at start-up", StringComparison.Ordinal));
        var down = source.Poll();
        Assert.False(down.Collectors[1].Up);
        Assert.Contains("NVML_ERROR_GPU_IS_LOST", down.Collectors[1].Error, StringComparison.Ordinal);
        Assert.Null(down.ChangedDevices);

        flaky.HandleFailure = NvmlReturn.Success;
        var back = source.Poll();

        Assert.True(back.Collectors[1].Up);
        var device = Assert.Single(back.ChangedDevices!);
        Assert.Equal((1, "GPU-late", "00000000:5E:00.0"), (device.Index, device.Uuid, device.PciBusId));
        Assert.Equal(device, source.Devices[1]);
        Assert.Equal(2, back.Samples.Count);
        Assert.Single(warnings);
    }

    [Fact]
    public void The_gpm_request_is_as_large_as_the_newest_header_s_struct()
    {
        var nvml = new FakeNvml(H100("GPU-aaaa"));
        using var source = new NvmlSampleSource(nvml, _describer, _time, OneSecond);
        _time.Advance(OneSecond);

        source.Poll();

        Assert.Equal((GpmMetricInfo.Count, 24 + (40 * 333)), Assert.Single(nvml.GpmRequests));
    }

    [Fact]
    public void A_gpu_in_mig_mode_yields_one_device_per_instance_with_its_own_processes_memory_and_gpm()
    {
        var gpu = MigH100();
        var plain = H100("GPU-bbbb");
        using var source = new NvmlSampleSource(new FakeNvml(gpu, plain), _describer, _time, OneSecond);

        Assert.Equal(["GPU-mig-parent", "GPU-bbbb", "MIG-aaaa", "MIG-bbbb"], source.Devices.Select(d => d.Uuid));
        var parent = source.Devices[0];
        Assert.True(parent.IsMigParent);
        Assert.False(parent.GpmSupported); // read per GPU instance instead
        Assert.Equal(new GpuDevice(2, "MIG-aaaa", "NVIDIA H100 80GB HBM3 MIG 3g.40gb", "580.159.04", 42_949_672_960, true, "00000000:3B:00.0", true, new MigInstance("GPU-mig-parent", 0, 1, 0)), source.Devices[2]);
        Assert.Equal(new MigInstance("GPU-mig-parent", 0, 2, 0), source.Devices[3].Mig);

        _time.Advance(OneSecond);
        var tick = source.Poll();

        Assert.All(tick.Collectors, c => Assert.True(c.FullyWatched, c.Error));
        var byGpu = tick.Samples.ToDictionary(s => s.Gpu);
        Assert.Empty(byGpu[0].Procs); // processes belong to the instances
        Assert.Equal(312_456, byGpu[0].PowerMw); // the parent keeps the physical telemetry
        Assert.Null(byGpu[0].UtilGpuPct); // NOT_SUPPORTED under MIG
        Assert.Equal([new ProcessUsage(5001, 1 << 30, null, null)], byGpu[2].Procs);
        Assert.Equal([new ProcessUsage(5002, 2L << 30, null, null)], byGpu[3].Procs);
        Assert.Equal(2_000_000_000, byGpu[2].MemUsedBytes);
        Assert.Null(byGpu[2].PowerMw);
        Assert.Equal(95.0, byGpu[2].Gpm![GpmMetric.IntegerUtil]); // GI 1: hashing
        Assert.Equal(40.0, byGpu[3].Gpm![GpmMetric.AnyTensorUtil]); // GI 2: training
        Assert.Equal(0.0, byGpu[3].Gpm![GpmMetric.IntegerUtil]);
    }

    /// <summary>An H100 in MIG mode: GI 1 runs pid 5001 (integer-heavy), GI 2 runs pid 5002 (tensor), slot 1 empty.</summary>
    internal static FakeGpu MigH100()
    {
        var gpu = new FakeGpu { Uuid = "GPU-mig-parent", MigEnabled = true };
        var hashing = new FakeMigDevice { Uuid = "MIG-aaaa", GpuInstanceId = 1, ComputeInstanceId = 0 };
        hashing.Processes.Add(new NvmlProcessInfo { Pid = 5001, UsedGpuMemory = 1 << 30, GpuInstanceId = 1, ComputeInstanceId = 0 });
        hashing.GpmValues[GpmMetricInfo.NvmlId(GpmMetric.IntegerUtil)] = 95;
        var training = new FakeMigDevice { Uuid = "MIG-bbbb", GpuInstanceId = 2, ComputeInstanceId = 0 };
        training.Processes.Add(new NvmlProcessInfo { Pid = 5002, UsedGpuMemory = 2UL << 30, GpuInstanceId = 2, ComputeInstanceId = 0 });
        training.GpmValues[GpmMetricInfo.NvmlId(GpmMetric.AnyTensorUtil)] = 40;
        gpu.MigDevices.Add(hashing);
        gpu.MigDevices.Add(null);
        gpu.MigDevices.Add(training);
        return gpu;
    }

    internal static FakeGpu H100(string uuid) => new() { Uuid = uuid };

    /// <summary>One H100 whose integer pipe reads 80 %, polled every <paramref name="interval"/>.</summary>
    private NvmlSampleSource IntegerPipeAt80(TimeSpan interval, out FakeGpu gpu)
    {
        gpu = H100("GPU-aaaa");
        gpu.GpmValues[GpmMetricInfo.NvmlId(GpmMetric.IntegerUtil)] = 80;
        return new NvmlSampleSource(new FakeNvml(gpu), _describer, _time, interval);
    }

    /// <summary>The clock moved on by <paramref name="wait"/>, then the one GPU's sample of a poll.</summary>
    private GpuSample PollAfter(NvmlSampleSource source, TimeSpan wait)
    {
        _time.Advance(wait);
        return Assert.Single(source.Poll().Samples);
    }

    private sealed class SlowDescriber(FakeTimeProvider time, TimeSpan each) : IProcessDescriber
    {
        public ProcessRecord? Describe(int pid)
        {
            time.Advance(each);
            return new ProcessRecord { Pid = pid };
        }
    }
}
