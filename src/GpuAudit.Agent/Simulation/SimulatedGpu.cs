using GpuAudit.Core.Trace;

namespace GpuAudit.Agent.Simulation;

/// <summary>One GPU of a simulated fleet: a recorded trace played in a loop from a seeded offset.</summary>
internal sealed class SimulatedGpu
{
    private readonly GpuDevice _device;
    private readonly IReadOnlyList<GpuSample> _samples;
    private readonly int[] _pids;
    private readonly double[] _weights;

    // Per recorded sample: its processes' SM %, memory and memory % added up, computed once here
    // rather than summed again on every tick (the simulator's cost counts in the agent's overhead).
    private readonly (int Sm, long Mem, int MemPct)[] _totals;
    private int _position;
    private long _energyMj;

    public SimulatedGpu(GpuDevice device, RecordedTrace trace, int offset, int processes, int firstPid, Random random)
    {
        _device = device;
        _samples = trace.Samples;
        _position = offset;
        _pids = new int[processes];
        _weights = new double[processes];
        var template = trace.Processes.Count > 0 ? trace.Processes[0] : new ProcessRecord { Pid = 0, Comm = "python3" };
        var list = new List<ProcessRecord>(processes);
        var total = 0.0;
        for (var i = 0; i < processes; i++)
        {
            _pids[i] = firstPid + i;
            _weights[i] = 0.2 + random.NextDouble();
            total += _weights[i];
            list.Add(template with { Pid = _pids[i], Ppid = firstPid - 1, Truth = null });
        }

        for (var i = 0; i < processes; i++)
        {
            _weights[i] /= total;
        }

        Processes = list;
        _totals = new (int, long, int)[_samples.Count];
        for (var s = 0; s < _samples.Count; s++)
        {
            foreach (var p in _samples[s].Procs)
            {
                _totals[s] = (_totals[s].Sm + (p.SmPct ?? 0), _totals[s].Mem + (p.UsedMemBytes ?? 0), _totals[s].MemPct + (p.MemPct ?? 0));
            }
        }
    }

    public IReadOnlyList<ProcessRecord> Processes { get; }

    public GpuSample Next(double time, double intervalSeconds)
    {
        var source = _samples[_position];
        var (sm, mem, memPct) = _totals[_position];
        _position = (_position + 1) % _samples.Count;
        // mW × s = mJ: the counter integrates the resampled power, as the driver's would.
        _energyMj += (long)((source.PowerMw ?? 0) * intervalSeconds);
        var procs = new ProcessUsage[_pids.Length];
        for (var i = 0; i < _pids.Length; i++)
        {
            procs[i] = new ProcessUsage(_pids[i], (long)(mem * _weights[i]), (int)Math.Round(sm * _weights[i]), (int)Math.Round(memPct * _weights[i]));
        }

        // Ground truth of the recording does not describe the resampled node: dropped.
        return source with { Time = time, Gpu = _device.Index, EnergyMj = _energyMj, Procs = procs, Truth = null };
    }
}
