namespace GpuAudit.Core.Samples;

/// <summary>
/// Where samples come from: live NVML, a replayed trace, a simulated fleet. The source paces
/// itself (through a <see cref="TimeProvider"/>), so the pipeline just awaits the next tick.
/// </summary>
public interface ISampleSource : IDisposable
{
    /// <summary>The node's name to report (the recording node for replays).</summary>
    string Node { get; }

    /// <summary>
    /// GPUs this source reports on, fixed in number and index for the source's life; an entry's
    /// identity may be replaced once (see <see cref="Tick.ChangedDevices"/>).
    /// </summary>
    IReadOnlyList<GpuDevice> Devices { get; }

    /// <summary>The next tick, or null when the source is exhausted (end of a replay).</summary>
    ValueTask<Tick?> NextAsync(CancellationToken cancellationToken);
}
