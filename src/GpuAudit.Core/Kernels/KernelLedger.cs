namespace GpuAudit.Core.Kernels;

/// <summary>
/// Joins the probes' events (names, aliases, module loads) with the in-kernel launch counters
/// into per-process kernel lists. Pure: fed by the eBPF reader on a live node and by tests.
/// Bounded: the BPF program caps events per process, and this caps what it keeps in all
/// (<see cref="MaxNamedHandles"/>), counting what it had to drop. Not thread-safe.
/// </summary>
public sealed class KernelLedger
{
    /// <summary>Named handles kept across all processes (a process's own cap is in the BPF program).</summary>
    public const int MaxNamedHandles = 262_144;

    private readonly Dictionary<int, ProcessState> _processes = [];
    private int _namedHandles;

    /// <summary>Names, aliases and loads ignored because <see cref="MaxNamedHandles"/> was reached.</summary>
    public long Dropped { get; private set; }

    public void Apply(LedgerEvent e)
    {
        if (!_processes.TryGetValue(e.Pid, out var state))
        {
            state = _processes[e.Pid] = new ProcessState();
        }

        switch (e.Entry)
        {
            case CudaEntryPoint.ModuleGetFunction or CudaEntryPoint.LibraryGetKernel when e.Name is { Length: > 0 } name:
                if (Admit(state.Names.ContainsKey(e.Handle)))
                {
                    state.Names[e.Handle] = new NamedHandle(name, e.Owner);
                }

                break;
            case CudaEntryPoint.KernelGetFunction:
                if (Admit(state.Aliases.ContainsKey(e.Handle)))
                {
                    state.Aliases[e.Handle] = e.Owner;
                }

                break;
            case CudaEntryPoint.ModuleLoadData or CudaEntryPoint.ModuleLoadDataEx or CudaEntryPoint.ModuleLoadFatBinary or CudaEntryPoint.LibraryLoadData:
                if (Admit(state.Modules.ContainsKey(e.Handle)))
                {
                    state.Modules[e.Handle] = new ModuleLoad(e.Entry, e.Handle, e.Image, e.Time);
                }

                break;
        }
    }

    /// <summary>Records what the image of a loaded module holds (read from the process after the load event).</summary>
    public void ApplyModuleCode(int pid, ulong module, Inspection.GpuCodeImage code)
    {
        if (_processes.TryGetValue(pid, out var state) && state.Modules.TryGetValue(module, out var load))
        {
            state.Modules[module] = load with { Code = code };
        }
    }

    /// <summary>Drops what is known about an exited process.</summary>
    public void Forget(int pid)
    {
        if (_processes.Remove(pid, out var state))
        {
            _namedHandles -= state.Names.Count + state.Aliases.Count + state.Modules.Count;
        }
    }

    /// <summary>The processes with events seen (names or loads), whether or not they launched anything yet.</summary>
    public IEnumerable<int> KnownPids => _processes.Keys;

    /// <summary>
    /// Each process's kernels from the counters of one read of the launch map (all processes), plus
    /// the processes that loaded or named code but launched nothing yet.
    /// </summary>
    public IReadOnlyDictionary<int, ProcessKernels> Build(IEnumerable<LaunchCounter> counters, IReadOnlyDictionary<int, long>? eventsDropped = null)
    {
        var byPid = new Dictionary<int, Dictionary<string, Builder>>();
        foreach (var counter in counters)
        {
            if (!byPid.TryGetValue(counter.Pid, out var rows))
            {
                rows = byPid[counter.Pid] = new Dictionary<string, Builder>(StringComparer.Ordinal);
            }

            var state = _processes.GetValueOrDefault(counter.Pid);
            var named = state?.Resolve(counter.Handle);
            var overflow = counter.Handle == ulong.MaxValue;
            var key = named is { } n ? "n:" + n.Name : "h:" + counter.Handle.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
            if (!rows.TryGetValue(key, out var row))
            {
                row = rows[key] = new Builder(counter.Handle, named?.Name, overflow, named is { } o && state!.Modules.TryGetValue(o.Owner, out var module) ? module : null);
            }

            row.Add(counter);
        }

        var result = new Dictionary<int, ProcessKernels>();
        foreach (var (pid, rows) in byPid)
        {
            var kernels = rows.Values.Select(r => r.Build()).OrderByDescending(k => k.Launches).ThenBy(k => k.DisplayName, StringComparer.Ordinal).ToList();
            result[pid] = new ProcessKernels
            {
                Pid = pid,
                Kernels = kernels,
                TotalLaunches = kernels.Sum(k => k.Launches),
                UnnamedLaunches = kernels.Where(k => k.Name is null && !k.Graph).Sum(k => k.Launches),
                Modules = ModulesOf(pid),
                EventsDropped = eventsDropped?.GetValueOrDefault(pid) ?? 0,
            };
        }

        foreach (var pid in _processes.Keys.Where(p => !result.ContainsKey(p)))
        {
            result[pid] = new ProcessKernels { Pid = pid, Modules = ModulesOf(pid), EventsDropped = eventsDropped?.GetValueOrDefault(pid) ?? 0 };
        }

        return result;
    }

    private List<ModuleLoad> ModulesOf(int pid) =>
        _processes.TryGetValue(pid, out var state) ? state.Modules.Values.OrderBy(m => m.Time).ToList() : [];

    private bool Admit(bool replacing)
    {
        if (replacing)
        {
            return true;
        }

        if (_namedHandles >= MaxNamedHandles)
        {
            Dropped++;
            return false;
        }

        _namedHandles++;
        return true;
    }

    private readonly record struct NamedHandle(string Name, ulong Owner);

    private sealed class ProcessState
    {
        public Dictionary<ulong, NamedHandle> Names { get; } = [];

        /// <summary>CUfunction → the CUkernel it stands for in one context.</summary>
        public Dictionary<ulong, ulong> Aliases { get; } = [];

        public Dictionary<ulong, ModuleLoad> Modules { get; } = [];

        public NamedHandle? Resolve(ulong handle)
        {
            if (Names.TryGetValue(handle, out var named))
            {
                return named;
            }

            return Aliases.TryGetValue(handle, out var kernel) && Names.TryGetValue(kernel, out var aliased) ? aliased : null;
        }
    }

    private sealed class Builder(ulong handle, string? rawName, bool overflow, ModuleLoad? module)
    {
        private readonly List<CudaEntryPoint> _entries = [];
        private long _launches;
        private DateTimeOffset _first = DateTimeOffset.MaxValue;
        private DateTimeOffset _last = DateTimeOffset.MinValue;

        public void Add(LaunchCounter counter)
        {
            _launches += counter.Count;
            _first = counter.First < _first ? counter.First : _first;
            _last = counter.Last > _last ? counter.Last : _last;
            if (!_entries.Contains(counter.Entry))
            {
                _entries.Add(counter.Entry);
            }
        }

        public KernelLaunches Build() => new()
        {
            Name = rawName is null ? null : KernelNames.Demangle(rawName),
            RawName = rawName,
            NameSource = rawName is null ? KernelNameSource.None : KernelNameSource.Lookup,
            Handle = handle,
            Launches = _launches,
            FirstSeen = _first,
            LastSeen = _last,
            EntryPoints = [.. _entries.Order()],
            Module = module,
            Overflow = overflow,
        };
    }
}
