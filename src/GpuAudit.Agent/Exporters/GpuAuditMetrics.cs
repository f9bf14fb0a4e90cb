using Prometheus;

namespace GpuAudit.Agent.Exporters;

/// <summary>
/// Every metric family the auditor exports, registered in one registry (names and meanings:
/// docs/metrics.md). A private registry keeps the exposition exactly what is documented: no
/// runtime or process metrics from the library's defaults.
/// </summary>
public sealed class GpuAuditMetrics
{
    public GpuAuditMetrics(CollectorRegistry registry)
    {
        // SuppressInitialValue: a series appears when first set, never as a made-up 0.
        Registry = registry;
        var f = Metrics.WithCustomRegistry(registry);
        string[] uuid = ["uuid"];
        string[] proc = ["uuid", "pid", "comm"];
        GpuInfo = f.CreateGauge("gpuaudit_gpu_info", "GPU identity; always 1.", new GaugeConfiguration { LabelNames = ["uuid", "index", "name", "driver", "pci_bus_id"], SuppressInitialValue = true });
        MigInstanceInfo = f.CreateGauge("gpuaudit_mig_instance_info", "A MIG instance watched as a device of its own (its uuid is the MIG device's); always 1.", new GaugeConfiguration { LabelNames = ["uuid", "parent_uuid", "gpu_instance_id", "compute_instance_id"], SuppressInitialValue = true });
        GpuUtil = f.CreateGauge("gpuaudit_gpu_utilization_ratio", "Fraction of the sample period during which a kernel ran (NVML utilization).", new GaugeConfiguration { LabelNames = uuid, SuppressInitialValue = true });
        GpuMemUtil = f.CreateGauge("gpuaudit_gpu_memory_utilization_ratio", "Fraction of the sample period during which device memory was read or written.", new GaugeConfiguration { LabelNames = uuid, SuppressInitialValue = true });
        GpuMemUsed = f.CreateGauge("gpuaudit_gpu_memory_used_bytes", "Framebuffer memory in use.", new GaugeConfiguration { LabelNames = uuid, SuppressInitialValue = true });
        GpuMemReserved = f.CreateGauge("gpuaudit_gpu_memory_reserved_bytes", "Framebuffer memory the driver and firmware reserve (NVML memory info v2); not part of used.", new GaugeConfiguration { LabelNames = uuid, SuppressInitialValue = true });
        GpuMemTotal = f.CreateGauge("gpuaudit_gpu_memory_total_bytes", "Framebuffer memory size.", new GaugeConfiguration { LabelNames = uuid, SuppressInitialValue = true });
        GpuPower = f.CreateGauge("gpuaudit_gpu_power_watts", "Board power draw.", new GaugeConfiguration { LabelNames = uuid, SuppressInitialValue = true });
        GpuEnergy = f.CreateCounter("gpuaudit_gpu_energy_joules_total", "Energy consumed since the driver loaded.", new CounterConfiguration { LabelNames = uuid, SuppressInitialValue = true });
        GpuSmClock = f.CreateGauge("gpuaudit_gpu_sm_clock_hertz", "SM clock.", new GaugeConfiguration { LabelNames = uuid, SuppressInitialValue = true });
        GpuMemClock = f.CreateGauge("gpuaudit_gpu_memory_clock_hertz", "Memory clock.", new GaugeConfiguration { LabelNames = uuid, SuppressInitialValue = true });
        GpuTemperature = f.CreateGauge("gpuaudit_gpu_temperature_celsius", "GPU die temperature.", new GaugeConfiguration { LabelNames = uuid, SuppressInitialValue = true });
        GpuPipe = f.CreateGauge("gpuaudit_gpu_pipe_utilization_ratio", "Hopper GPM pipe or unit activity over the last GPM interval.", new GaugeConfiguration { LabelNames = ["uuid", "pipe"], SuppressInitialValue = true });
        GpuPcie = f.CreateGauge("gpuaudit_gpu_pcie_bytes_per_second", "PCIe throughput (GPM).", new GaugeConfiguration { LabelNames = ["uuid", "direction"], SuppressInitialValue = true });
        GpuNvlink = f.CreateGauge("gpuaudit_gpu_nvlink_bytes_per_second", "NVLink throughput (GPM).", new GaugeConfiguration { LabelNames = ["uuid", "direction"], SuppressInitialValue = true });
        GpuClass = f.CreateGauge("gpuaudit_gpu_class", "1 for the GPU's current workload class.", new GaugeConfiguration { LabelNames = ["uuid", "class"], SuppressInitialValue = true });
        GpuClassConfidence = f.CreateGauge("gpuaudit_gpu_class_confidence", "Confidence of the GPU's current class, 0-1.", new GaugeConfiguration { LabelNames = uuid, SuppressInitialValue = true });
        GpuClassSeconds = f.CreateCounter("gpuaudit_gpu_class_seconds_total", "Seconds the GPU spent in each workload class.", new CounterConfiguration { LabelNames = ["uuid", "class"], SuppressInitialValue = true });
        GpuJobInfo = f.CreateGauge("gpuaudit_gpu_job_info", "1 while the scheduler's GPU-to-job map gives this GPU to a job.", new GaugeConfiguration { LabelNames = ["uuid", "job_id", "user"], SuppressInitialValue = true });
        ProcessMemory = f.CreateGauge("gpuaudit_process_memory_used_bytes", "GPU memory used by the process.", new GaugeConfiguration { LabelNames = proc, SuppressInitialValue = true });
        ProcessSm = f.CreateGauge("gpuaudit_process_sm_utilization_ratio", "Share of SM time used by the process (NVML per-process utilization).", new GaugeConfiguration { LabelNames = proc, SuppressInitialValue = true });
        ProcessClass = f.CreateGauge("gpuaudit_process_class", "1 for the process's current workload class.", new GaugeConfiguration { LabelNames = ["uuid", "pid", "comm", "class"], SuppressInitialValue = true });
        ProcessClassConfidence = f.CreateGauge("gpuaudit_process_class_confidence", "Confidence of the process's current class, 0-1.", new GaugeConfiguration { LabelNames = proc, SuppressInitialValue = true });
        ProcessInfo = f.CreateGauge("gpuaudit_process_info", "GPU process identity from /proc; always 1.", new GaugeConfiguration { LabelNames = ["uuid", "pid", "comm", "user", "job_id", "exe", "container", "pod"], SuppressInitialValue = true });
        ProcessKernelLaunches = f.CreateCounter("gpuaudit_process_kernel_launches_total", "CUDA kernel launches by the process since the kernel ledger covered it (all its GPUs: the same total on each of its GPUs' series).", new CounterConfiguration { LabelNames = proc, SuppressInitialValue = true });
        KernelLedgerUp = f.CreateGauge("gpuaudit_kernel_ledger_up", "1 while the kernel ledger (eBPF uprobes on libcuda) runs; 0 when it is off (doctor says why).", new GaugeConfiguration { SuppressInitialValue = true });
        KernelLedgerLibraries = f.CreateGauge("gpuaudit_kernel_ledger_libcuda_files", "Distinct libcuda files carrying the ledger's probes.", new GaugeConfiguration { SuppressInitialValue = true });
        KernelLedgerLost = f.CreateCounter("gpuaudit_kernel_ledger_lost_total", "What the kernel ledger could not record: launches (its map full) or events (names and module loads: ring buffer full, per-process budget).", new CounterConfiguration { LabelNames = ["what"], SuppressInitialValue = true });
        Evidence = f.CreateCounter("gpuaudit_evidence_total", "Inspector findings about GPU processes, by kind.", new CounterConfiguration { LabelNames = ["kind"], SuppressInitialValue = true });
        ViolationsTotal = f.CreateCounter("gpuaudit_violations_total", "Policy violations opened.", new CounterConfiguration { LabelNames = ["rule", "severity"], SuppressInitialValue = true });
        ViolationActive = f.CreateGauge("gpuaudit_violation_active", "1 while a policy violation is open.", new GaugeConfiguration { LabelNames = ["rule", "severity", "uuid", "pid", "job_id"], SuppressInitialValue = true });
        DivertedSecondsTotal = f.CreateCounter("gpuaudit_gpu_diverted_seconds_total", "GPU-seconds diverted from the job's purpose under an open violation (docs/policy.md, GPU-minutes diverted).", new CounterConfiguration { LabelNames = ["uuid", "job_id"], SuppressInitialValue = true });
        CollectorUp = f.CreateGauge("gpuaudit_collector_up", "1 when the last poll of this GPU read it, its process list included.", new GaugeConfiguration { LabelNames = uuid, SuppressInitialValue = true });
        CollectorErrors = f.CreateCounter("gpuaudit_collector_errors_total", "NVML calls that failed without taking the GPU down (that field is missing for the poll), by function and code.", new CounterConfiguration { LabelNames = ["uuid", "function", "code"], SuppressInitialValue = true });
        CollectorLastSuccess = f.CreateGauge("gpuaudit_collector_last_success_timestamp_seconds", "Wall-clock time of the last successful poll of this GPU; 0 until the first.", new GaugeConfiguration { LabelNames = uuid, SuppressInitialValue = true });
        PollDuration = f.CreateGauge("gpuaudit_poll_duration_seconds", "How long the analysis of the last poll took (classifier, job attribution, policy), NVML reads and exporters excluded.", new GaugeConfiguration { SuppressInitialValue = true });
        PollInterval = f.CreateGauge("gpuaudit_poll_interval_seconds", "Configured poll interval.", new GaugeConfiguration { SuppressInitialValue = true });
        AnalysisInterval = f.CreateGauge("gpuaudit_analysis_interval_seconds", "Configured analysis interval: polls are analysed and published in batches this many seconds of samples long (no sample: each poll is analysed as it comes).", new GaugeConfiguration { SuppressInitialValue = true });
        Polls = f.CreateCounter("gpuaudit_polls_total", "Polls done.", new CounterConfiguration { SuppressInitialValue = true });
        ProcessSeriesDropped = f.CreateCounter("gpuaudit_process_series_dropped_total", "Per-process series not exported because of --max-process-series (each withheld process counted once, with the series it would have had).", new CounterConfiguration { SuppressInitialValue = true });
        HttpRejected = f.CreateCounter("gpuaudit_http_rejected_total", "Connections and requests to /metrics refused, by reason.", new CounterConfiguration { LabelNames = ["reason"], SuppressInitialValue = true });
        BuildInfo = f.CreateGauge("gpuaudit_build_info", "Version, git revision and .NET runtime of this agent; always 1.", new GaugeConfiguration { LabelNames = ["version", "revision", "dotnet_version"], SuppressInitialValue = true });

        BuildInfo.WithLabels(Exporters.BuildInfo.Version, Exporters.BuildInfo.Revision, Exporters.BuildInfo.DotnetVersion).Set(1);
        ProcessSeriesDropped.Publish();
        foreach (var reason in HttpRejectReasons)
        {
            HttpRejected.WithLabels(reason).Publish();
        }
    }

    /// <summary>Why /metrics refused a connection or request (the reason label).</summary>
    public static IReadOnlyList<string> HttpRejectReasons { get; } = ["connection_limit", "client_connection_limit", "unauthorized", "rate_limited"];

    public CollectorRegistry Registry { get; }

    public Gauge GpuInfo { get; }

    public Gauge GpuUtil { get; }

    public Gauge GpuMemUtil { get; }

    public Gauge GpuMemUsed { get; }

    public Gauge GpuMemTotal { get; }

    public Gauge GpuMemReserved { get; }

    public Gauge MigInstanceInfo { get; }

    public Gauge GpuPower { get; }

    public Counter GpuEnergy { get; }

    public Gauge GpuSmClock { get; }

    public Gauge GpuMemClock { get; }

    public Gauge GpuTemperature { get; }

    public Gauge GpuPipe { get; }

    public Gauge GpuPcie { get; }

    public Gauge GpuNvlink { get; }

    public Gauge GpuClass { get; }

    public Gauge GpuClassConfidence { get; }

    public Counter GpuClassSeconds { get; }

    public Gauge GpuJobInfo { get; }

    public Gauge ProcessMemory { get; }

    public Gauge ProcessSm { get; }

    public Gauge ProcessClass { get; }

    public Gauge ProcessClassConfidence { get; }

    public Gauge ProcessInfo { get; }

    public Counter ProcessKernelLaunches { get; }

    public Gauge KernelLedgerUp { get; }

    public Gauge KernelLedgerLibraries { get; }

    public Counter KernelLedgerLost { get; }

    public Counter Evidence { get; }

    public Counter ViolationsTotal { get; }

    public Gauge ViolationActive { get; }

    /// <summary>The policy's diverted GPU-seconds (Core's DivertedTime), per GPU and job; a series exists only for a job that had diverted time.</summary>
    public Counter DivertedSecondsTotal { get; }

    public Gauge CollectorUp { get; }

    public Gauge CollectorLastSuccess { get; }

    public Counter CollectorErrors { get; }

    public Gauge PollDuration { get; }

    public Gauge PollInterval { get; }

    /// <summary>Set only when polls are analysed in batches: the staleness alert allows for the batch.</summary>
    public Gauge AnalysisInterval { get; }

    public Counter Polls { get; }

    public Counter ProcessSeriesDropped { get; }

    public Counter HttpRejected { get; }

    public Gauge BuildInfo { get; }
}
