using System.Text;
using GpuAudit.Agent.Exporters;
using Prometheus;

namespace GpuAudit.Agent.Tests.Exporters;

/// <summary>What /metrics says about a GPU that is down, partly read, or came back with its real identity.</summary>
public class CollectorHealthExpositionTests
{
    private static readonly GpuDevice Device = new(0, "GPU-x", "H100", "580", 1, true);
    private readonly GpuAuditMetrics _metrics = new(Metrics.NewCustomRegistry());
    private readonly PrometheusExporter _exporter;

    public CollectorHealthExpositionTests() =>
        _exporter = new PrometheusExporter(_metrics, [Device], TimeSpan.FromSeconds(1), new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000)));

    [Fact]
    public async Task A_gpu_that_goes_down_exports_no_stale_class()
    {
        var hash = new Verdict(1, 0, null, WorkloadClass.Hash, 0.9, ["integer pipe 95%"]);
        Tick(1, Device, new GpuSample { Time = 1, Gpu = 0, UtilGpuPct = 100 }, new CollectorStatus(0, true), hash);
        Assert.Contains("gpuaudit_gpu_class{uuid=\"GPU-x\",class=\"hash\"} 1", await Render(), StringComparison.Ordinal);

        Tick(2, Device, null, new CollectorStatus(0, false, "GPU is lost"), hash);

        var text = await Render();
        Assert.Contains("gpuaudit_collector_up{uuid=\"GPU-x\"} 0", text, StringComparison.Ordinal);
        Assert.DoesNotContain("gpuaudit_gpu_class{", text, StringComparison.Ordinal);
        Assert.DoesNotContain("gpuaudit_gpu_class_confidence{", text, StringComparison.Ordinal);

        // Back up: the class is exported again.
        Tick(3, Device, new GpuSample { Time = 3, Gpu = 0, UtilGpuPct = 100 }, new CollectorStatus(0, true), hash with { Time = 3 });
        Assert.Contains("gpuaudit_gpu_class{uuid=\"GPU-x\",class=\"hash\"} 1", await Render(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gpu_whose_processes_cannot_be_listed_is_not_up_but_keeps_its_telemetry_and_counts_the_failures()
    {
        var status = new CollectorStatus(0, true, "nvmlDeviceGetComputeRunningProcesses_v3 failed: NVML_ERROR_NO_PERMISSION")
        {
            ProcessesVisible = false,
            FailedCalls = [new CallFailure("nvmlDeviceGetComputeRunningProcesses_v3", "NVML_ERROR_NO_PERMISSION"), new CallFailure("nvmlDeviceGetTotalEnergyConsumption", "NVML_ERROR_UNKNOWN")],
        };

        Tick(1, Device, new GpuSample { Time = 1, Gpu = 0, UtilGpuPct = 40, MemReservedBytes = 503_316_480 }, status, null);
        Tick(2, Device, new GpuSample { Time = 2, Gpu = 0, UtilGpuPct = 40 }, status, null);

        var text = await Render();
        TextAssert.ContainsAll(
            text,
            "gpuaudit_collector_up{uuid=\"GPU-x\"} 0",
            "gpuaudit_gpu_utilization_ratio{uuid=\"GPU-x\"} 0.4",
            "gpuaudit_gpu_memory_reserved_bytes{uuid=\"GPU-x\"} 503316480",
            "gpuaudit_collector_errors_total{uuid=\"GPU-x\",function=\"nvmlDeviceGetComputeRunningProcesses_v3\",code=\"NVML_ERROR_NO_PERMISSION\"} 2",
            "gpuaudit_collector_errors_total{uuid=\"GPU-x\",function=\"nvmlDeviceGetTotalEnergyConsumption\",code=\"NVML_ERROR_UNKNOWN\"} 2");
    }

    [Fact]
    public async Task A_placeholder_replaced_by_the_real_gpu_leaves_no_series_under_the_placeholder()
    {
        var placeholder = new GpuDevice(0, "unavailable-gpu-0", "unavailable", "580", null, false);
        var metrics = new GpuAuditMetrics(Metrics.NewCustomRegistry());
        var exporter = new PrometheusExporter(metrics, [placeholder], TimeSpan.FromSeconds(1), new FakeTimeProvider());
        exporter.OnTick(new TickAnalysis(1, [new GpuView(placeholder, null, new CollectorStatus(0, false, "GPU_IS_LOST"), null, null, [])], [], PolicyResult.None), TimeSpan.Zero);
        Assert.Contains("gpuaudit_collector_up{uuid=\"unavailable-gpu-0\"} 0", await AgentFixtures.ExpositionAsync(metrics.Registry), StringComparison.Ordinal);

        exporter.OnTick(new TickAnalysis(2, [new GpuView(Device, new GpuSample { Time = 2, Gpu = 0 }, new CollectorStatus(0, true), null, null, [])], [], PolicyResult.None), TimeSpan.Zero);

        var text = await AgentFixtures.ExpositionAsync(metrics.Registry);
        Assert.DoesNotContain("unavailable-gpu-0", text, StringComparison.Ordinal);
        TextAssert.ContainsAll(
            text,
            "gpuaudit_collector_up{uuid=\"GPU-x\"} 1",
            "gpuaudit_gpu_info{uuid=\"GPU-x\",index=\"0\",name=\"H100\"");
    }

    [Fact]
    public async Task A_mig_instance_is_a_device_with_an_info_series_naming_its_parent_and_instance_ids()
    {
        var instance = new GpuDevice(2, "MIG-aaaa", "NVIDIA H100 80GB HBM3 MIG 3g.40gb", "580", 42_949_672_960, true, null, true, new MigInstance("GPU-parent", 0, 1, 0));
        var metrics = new GpuAuditMetrics(Metrics.NewCustomRegistry());
        _ = new PrometheusExporter(metrics, [instance], TimeSpan.FromSeconds(1), new FakeTimeProvider());

        Assert.Contains("gpuaudit_mig_instance_info{uuid=\"MIG-aaaa\",parent_uuid=\"GPU-parent\",gpu_instance_id=\"1\",compute_instance_id=\"0\"} 1", await AgentFixtures.ExpositionAsync(metrics.Registry), StringComparison.Ordinal);
    }

    private void Tick(double time, GpuDevice device, GpuSample? sample, CollectorStatus status, Verdict? verdict) =>
        _exporter.OnTick(new TickAnalysis(time, [new GpuView(device, sample, status, verdict, null, [])], [], PolicyResult.None), TimeSpan.Zero);

    private Task<string> Render() => AgentFixtures.ExpositionAsync(_metrics.Registry);
}
