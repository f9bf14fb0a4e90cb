using GpuAudit.Core.Samples;

namespace GpuAudit.Nvml;

/// <summary>What the sampler keeps per GPU between polls.</summary>
internal sealed class GpuCollector(GpuDevice device, NvmlDevice handle)
{
    public GpuDevice Device { get; } = device;

    public NvmlDevice Handle { get; } = handle;

    /// <summary>Largest per-process utilization timestamp seen (µs): passed back so only new samples come.</summary>
    public ulong LastSeenUtilizationTimeStamp { get; set; }

    /// <summary>The older of the two GPM samples (null: GPM off for this GPU).</summary>
    public NvmlGpmSample? GpmPrevious { get; set; }

    /// <summary>The buffer the next GPM reading is taken into.</summary>
    public NvmlGpmSample? GpmNext { get; set; }

    /// <summary>Unix seconds when <see cref="GpmPrevious"/> was taken; NaN before the first one.</summary>
    public double GpmPreviousTime { get; set; } = double.NaN;
}
