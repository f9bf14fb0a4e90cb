using GpuAudit.Core.Samples;
using GpuAudit.Core.Trace;

namespace GpuAudit.Nvml;

/// <summary>
/// Copies a sample source into trace format v1: the header, then per tick the <c>process</c>
/// lines of pids first seen (before the first sample naming them), then the samples. Stops at the
/// end of the source, after <c>duration</c> of sample time, or on cancellation (Ctrl-C, SIGTERM);
/// every line is flushed as written, so a stop never leaves half a record.
/// </summary>
public static class TraceRecorder
{
    /// <summary>Records until done; returns the number of ticks written.</summary>
    public static async Task<int> RecordAsync(ISampleSource source, TraceWriter writer, TimeSpan interval, TimeSpan? duration, CancellationToken cancellationToken)
    {
        writer.WriteHeader(new TraceHeader
        {
            Node = source.Node,
            Description = "recorded live by gpuaudit record",
            IntervalS = interval.TotalSeconds,
            Gpus = source.Devices,
        });

        var ticks = 0;
        double? stopAt = null;
        try
        {
            while (await source.NextAsync(cancellationToken) is { } tick)
            {
                foreach (var process in tick.NewProcesses)
                {
                    writer.WriteProcess(process);
                }

                foreach (var sample in tick.Samples)
                {
                    writer.WriteSample(sample);
                }

                ticks++;

                // The recording started one interval before the first tick; it ends at the first tick
                // within half an interval of start + duration (live timers jitter by milliseconds).
                // Sample time, not wall time, so a fake clock drives it in tests.
                stopAt ??= duration is { } d ? tick.Time - interval.TotalSeconds + d.TotalSeconds - (interval.TotalSeconds / 2) : null;
                if (tick.Time >= stopAt)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl-C / SIGTERM is the normal way to end an open-ended recording.
        }

        return ticks;
    }
}
