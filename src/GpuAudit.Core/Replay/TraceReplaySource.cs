using GpuAudit.Core.Samples;
using GpuAudit.Core.Trace;

namespace GpuAudit.Core.Replay;

/// <summary>
/// Replays trace format v1 files as if they were a live node, through the same
/// <see cref="ISampleSource"/> seam as NVML. Several files play side by side as the GPUs of one
/// node (renumbered in file order, started together); at recorded speed the source waits on its
/// <see cref="TimeProvider"/>, so tests drive it with a fake clock.
/// </summary>
public sealed class TraceReplaySource : ISampleSource
{
    private readonly List<ReplayFile> _files = [];
    private readonly ReplayOptions _options;
    private readonly TimeProvider _time;
    private readonly HashSet<int> _claimedPids = [];
    private readonly double _interval;
    private readonly double _startTraceTime;
    private long _startTimestamp = -1;

    public TraceReplaySource(IReadOnlyList<string> paths, ReplayOptions options, TimeProvider time)
    {
        if (paths.Count == 0)
        {
            throw new UserInputException("no trace given: name one or more trace files (format v1, *.jsonl)");
        }

        _options = options;
        _time = time;
        var readOptions = new TraceReadOptions { SkipMalformed = options.SkipMalformed, Warn = options.Warn };
        var devices = new List<GpuDevice>();
        var uuids = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var path in paths)
            {
                var file = new ReplayFile(path, readOptions, devices.Count);
                _files.Add(file);
                foreach (var gpu in file.Header.Gpus)
                {
                    var uuid = gpu.Uuid;
                    if (!uuids.Add(uuid))
                    {
                        // The bundled traces come from one GPU: each file still needs its own identity.
                        uuid = $"{gpu.Uuid}-replay{_files.Count - 1}";
                        uuids.Add(uuid);
                    }

                    devices.Add(gpu with { Index = file.GpuMap[gpu.Index], Uuid = uuid });
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        Devices = devices;
        Node = _files[0].Header.Node ?? "replay";
        _interval = _files[0].Header.IntervalS is > 0 and var i ? i : 1.0;
        var starts = _files.Select(f => f.FirstSampleTime).Where(t => !double.IsNaN(t)).ToList();
        var firstTraceTime = starts.Count > 0 ? starts.Min() : 0;
        _startTraceTime = options.StartAt ?? firstTraceTime;
        foreach (var file in _files)
        {
            // Every file starts with the earliest one, so traces recorded one after another play together.
            file.TimeShift = double.IsNaN(file.FirstSampleTime) ? 0 : _startTraceTime - file.FirstSampleTime;
        }
    }

    public string Node { get; }

    public IReadOnlyList<GpuDevice> Devices { get; }

    public async ValueTask<Tick?> NextAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var processes = new List<ProcessRecord>();
        var tickTime = NextSampleTime(processes);
        if (double.IsNaN(tickTime))
        {
            return null;
        }

        if (_options.UntilSeconds is { } until && tickTime - _startTraceTime > until + 1e-9)
        {
            return null;
        }

        var samples = new List<GpuSample>(_files.Count);
        foreach (var file in _files)
        {
            // A file's samples within half an interval of the tick join it (one per GPU at a steady rate).
            while (!file.Exhausted && file.PeekSampleTime() is var t && t < tickTime + (_interval / 2))
            {
                if (double.IsNegativeInfinity(t))
                {
                    processes.Add(file.Take(_claimedPids, _options.Warn).Process!);
                    continue;
                }

                samples.Add(file.Take(_claimedPids, _options.Warn).Sample!);
            }
        }

        await WaitUntilDue(tickTime, cancellationToken);
        var collectors = samples.Select(s => new CollectorStatus(s.Gpu, true)).ToList();
        return new Tick(tickTime, samples, processes, collectors);
    }

    public void Dispose()
    {
        foreach (var file in _files)
        {
            file.Dispose();
        }
    }

    private double NextSampleTime(List<ProcessRecord> processes)
    {
        var min = double.NaN;
        foreach (var file in _files)
        {
            if (file.Exhausted && _options.Loop && !double.IsNaN(file.LastTime))
            {
                file.Rewind(_interval);
            }

            // Process lines come before the samples that name them: hand them over first.
            while (!file.Exhausted && double.IsNegativeInfinity(file.PeekSampleTime()))
            {
                processes.Add(file.Take(_claimedPids, _options.Warn).Process!);
            }

            var t = file.PeekSampleTime();
            if (!double.IsNaN(t) && (double.IsNaN(min) || t < min))
            {
                min = t;
            }
        }

        return min;
    }

    private async ValueTask WaitUntilDue(double tickTime, CancellationToken cancellationToken)
    {
        if (_options.Fast)
        {
            return;
        }

        if (_startTimestamp < 0)
        {
            _startTimestamp = _time.GetTimestamp();
            return;
        }

        var due = TimeSpan.FromSeconds(tickTime - _startTraceTime);
        var delay = due - _time.GetElapsedTime(_startTimestamp);
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _time, cancellationToken);
        }
    }
}
