using GpuAudit.Core.Samples;
using GpuAudit.Core.Trace;

namespace GpuAudit.Core.Replay;

/// <summary>
/// One trace being replayed as part of a node: its GPUs are renumbered into the node's index
/// space, its times shifted so every file starts together, its pids and uuids made unique
/// across files. Reads lazily, one entry ahead, so long traces stream.
/// </summary>
internal sealed class ReplayFile : IDisposable
{
    private readonly string _path;
    private readonly TraceReadOptions _readOptions;
    private readonly Dictionary<int, int> _gpuMap;
    private readonly Dictionary<int, int> _pidMap = [];
    private TraceReader _reader;
    private TraceEntry? _next;
    private long? _firstEnergyMj;
    private long _energyOffsetMj;
    private long _lastEnergyMj;

    public ReplayFile(string path, TraceReadOptions readOptions, int firstIndex)
    {
        _path = path;
        _readOptions = readOptions;
        _reader = TraceReader.Open(path, readOptions);
        _gpuMap = [];
        var index = firstIndex;
        foreach (var gpu in _reader.Header.Gpus)
        {
            _gpuMap[gpu.Index] = index++;
        }

        Advance();
        FirstSampleTime = FindFirstSampleTime(path, readOptions);
    }

    public TraceHeader Header => _reader.Header;

    public IReadOnlyDictionary<int, int> GpuMap => _gpuMap;

    /// <summary>Time of the file's first sample (NaN when it has none).</summary>
    public double FirstSampleTime { get; private set; }

    /// <summary>Added to every trace time to place this file on the replay's clock.</summary>
    public double TimeShift { get; set; }

    /// <summary>Time of the file's last sample seen so far, on the replay clock.</summary>
    public double LastTime { get; private set; } = double.NaN;

    public bool Exhausted => _next is null;

    /// <summary>Replay-clock time of the next sample, skipping over process lines; NaN when exhausted.</summary>
    public double PeekSampleTime() => _next is { Sample: { } s } ? s.Time + TimeShift : _next is { Process: not null } ? double.NegativeInfinity : double.NaN;

    /// <summary>Claims a pid in the node's pid space; a collision with another file gets a fresh number.</summary>
    public void MapPid(int pid, HashSet<int> claimed, Action<string>? warn)
    {
        if (_pidMap.ContainsKey(pid))
        {
            return;
        }

        var mapped = pid;
        while (!claimed.Add(mapped))
        {
            mapped += 1_000_000;
        }

        if (mapped != pid)
        {
            warn?.Invoke($"{_path}: pid {pid} is already used by another replayed trace; shown as pid {mapped}");
        }

        _pidMap[pid] = mapped;
    }

    /// <summary>Takes the next entry (process or sample) already remapped to the node.</summary>
    public TraceEntry Take(HashSet<int> claimedPids, Action<string>? warn)
    {
        var entry = _next!.Value;
        Advance();
        if (entry.Process is { } p)
        {
            MapPid(p.Pid, claimedPids, warn);
            return new TraceEntry(p with { Pid = _pidMap[p.Pid] }, null);
        }

        var s = entry.Sample!;
        foreach (var proc in s.Procs)
        {
            MapPid(proc.Pid, claimedPids, warn);
        }

        var energy = s.EnergyMj is { } e ? e + _energyOffsetMj : (long?)null;
        if (energy is { } en)
        {
            _lastEnergyMj = en;
        }

        var time = s.Time + TimeShift;
        LastTime = time;
        return new TraceEntry(null, s with { Time = time, Gpu = _gpuMap[s.Gpu], EnergyMj = energy, Procs = RemapProcs(s.Procs) });
    }

    /// <summary>Starts the file again, later on the clock by its length plus one interval; energy keeps counting up.</summary>
    public void Rewind(double interval)
    {
        var duration = LastTime - (FirstSampleTime + TimeShift);
        _reader.Dispose();
        _reader = TraceReader.Open(_path, _readOptions);
        Advance();
        TimeShift += duration + interval;
        if (_firstEnergyMj is { } first)
        {
            // Continue from where the counter stood, so a looped replay never looks like a driver reload.
            _energyOffsetMj = _lastEnergyMj - first;
        }
    }

    public void Dispose() => _reader.Dispose();

    private IReadOnlyList<ProcessUsage> RemapProcs(IReadOnlyList<ProcessUsage> procs)
    {
        var changed = false;
        foreach (var p in procs)
        {
            changed |= _pidMap[p.Pid] != p.Pid;
        }

        if (!changed)
        {
            return procs;
        }

        var list = new ProcessUsage[procs.Count];
        for (var i = 0; i < list.Length; i++)
        {
            list[i] = procs[i] with { Pid = _pidMap[procs[i].Pid] };
        }

        return list;
    }

    private static double FindFirstSampleTime(string path, TraceReadOptions options)
    {
        // Process lines precede samples; a second, short-lived reader finds the first sample
        // without buffering the process lines of the main one.
        using var reader = TraceReader.Open(path, options with { Warn = null });
        while (reader.TryReadNext(out var entry))
        {
            if (entry.Sample is { } s)
            {
                return s.Time;
            }
        }

        return double.NaN;
    }

    private void Advance()
    {
        if (_reader.TryReadNext(out var entry))
        {
            _next = entry;
            if (_firstEnergyMj is null && entry.Sample?.EnergyMj is { } first)
            {
                _firstEnergyMj = first;
            }
        }
        else
        {
            _next = null;
        }
    }
}
