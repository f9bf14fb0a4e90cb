using GpuAudit.Core.Samples;

namespace GpuAudit.Nvml;

/// <summary>What the sampler keeps per device (a GPU, or a MIG instance) between polls.</summary>
internal sealed class GpuCollector(GpuDevice device, NvmlDevice handle, int nvmlIndex)
{
    /// <summary>The device as exported; replaced once when a GPU unreadable at start-up comes back.</summary>
    public GpuDevice Device { get; set; } = device;

    /// <summary>The NVML handle (a MIG device handle for an instance).</summary>
    public NvmlDevice Handle { get; set; } = handle;

    /// <summary>nvmlDeviceGetHandleByIndex_v2's index of the physical GPU (the parent's, for an instance).</summary>
    public int NvmlIndex { get; } = nvmlIndex;

    /// <summary>False while the GPU's handle or UUID could not be read: its device is a placeholder, retried each poll.</summary>
    public bool Available { get; set; } = true;

    /// <summary>Why the GPU could not be read at start-up (or on the last retry).</summary>
    public string? UnavailableReason { get; set; }

    /// <summary>For a MIG instance: the parent GPU's handle (GPM is read through it).</summary>
    public NvmlDevice? MigParent { get; init; }

    /// <summary>For a MIG instance: its GPU instance id (nvmlGpmMigSampleGet's argument).</summary>
    public uint GpuInstanceId { get; init; }

    /// <summary>Set after nvmlDeviceGetMemoryInfo_v2 answered that it cannot serve this GPU: v1 from then on.</summary>
    public bool MemoryV2Unusable { get; set; }

    /// <summary>Set after nvmlDeviceGetTemperatureV answered that it cannot serve this GPU: the old call from then on.</summary>
    public bool TemperatureVUnusable { get; set; }

    /// <summary>The kind of problem last warned about (null: fully read), so each episode is warned once.</summary>
    public string? ReportedProblem { get; set; }

    /// <summary>Largest per-process utilization timestamp seen (µs): passed back so only new samples come.</summary>
    public ulong LastSeenUtilizationTimeStamp { get; set; }

    /// <summary>The older of the two GPM samples (null: GPM off for this GPU).</summary>
    public NvmlGpmSample? GpmPrevious { get; set; }

    /// <summary>The buffer the next GPM reading is taken into.</summary>
    public NvmlGpmSample? GpmNext { get; set; }

    /// <summary>Unix seconds when <see cref="GpmPrevious"/> was taken; NaN before the first one.</summary>
    public double GpmPreviousTime { get; set; } = double.NaN;
}
