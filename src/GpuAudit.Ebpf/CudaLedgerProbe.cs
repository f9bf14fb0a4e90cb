using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using GpuAudit.Core.Kernels;
using GpuAudit.Ebpf.Interop;

namespace GpuAudit.Ebpf;

/// <summary>
/// The loaded BPF program of the kernel ledger (Bpf/cuda_ledger.bpf.c, embedded): attaches its
/// uprobes to libcuda files, drains the ring buffer of names and module loads, and reads the
/// in-kernel launch counters. Owned by one thread (<see cref="KernelLedgerService"/>); libbpf
/// objects are not thread-safe.
/// </summary>
public sealed unsafe class CudaLedgerProbe : IDisposable
{
    public const string PermissionFix = "run as root, or grant CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (docs/kernel-ledger.md)";

    private const string ObjectResource = "cuda_ledger.bpf.o";

    private readonly nint _object;
    private readonly nint _ringBuffer;
    private readonly GCHandle _self;
    private readonly int _launchesFd;
    private readonly int _budgetsFd;
    private readonly int _statsFd;
    private readonly int _cpus;
    private readonly Dictionary<string, nint> _programs = [];
    private readonly List<LedgerEvent> _received = [];
    private readonly TimeProvider _time;
    private bool _disposed;

    private CudaLedgerProbe(nint bpfObject, TimeProvider time)
    {
        _object = bpfObject;
        _time = time;
        foreach (var name in (string[])["launch_arg1", "launch_arg2", "lookup_enter", "load_enter", "call_return"])
        {
            _programs[name] = Find(name, &LibBpfNative.FindProgramByName);
        }

        _launchesFd = LibBpfNative.MapFd(Find("launches", &LibBpfNative.FindMapByName));
        _budgetsFd = LibBpfNative.MapFd(Find("budgets", &LibBpfNative.FindMapByName));
        _statsFd = LibBpfNative.MapFd(Find("stats", &LibBpfNative.FindMapByName));
        var eventsFd = LibBpfNative.MapFd(Find("events", &LibBpfNative.FindMapByName));
        _cpus = Math.Max(1, LibBpfNative.NumPossibleCpus());
        _self = GCHandle.Alloc(this);
        _ringBuffer = LibBpfNative.RingBufferNew(eventsFd, &OnEvent, GCHandle.ToIntPtr(_self), 0);
        if (_ringBuffer == 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            _self.Free();
            throw Unavailable("cannot open the ledger's ring buffer", errno);
        }
    }

    /// <summary>Loads libbpf and the BPF program; throws <see cref="KernelLedgerUnavailableException"/> saying why it cannot.</summary>
    /// <param name="time">The wall clock that the kernel's monotonic event times are converted to.</param>
    public static CudaLedgerProbe Open(TimeProvider time)
    {
        if (LibBpfLibrary.TryLoad() is { } missing)
        {
            throw new KernelLedgerUnavailableException(missing, "the agent runs without the kernel ledger until libbpf is installed");
        }

        var image = ReadEmbeddedObject();
        nint bpfObject;
        fixed (byte* bytes = image)
        {
            bpfObject = LibBpfNative.ObjectOpenMem(bytes, (nuint)image.Length, 0);
        }

        if (bpfObject == 0)
        {
            throw Unavailable("libbpf cannot open the ledger's BPF object", Marshal.GetLastPInvokeError());
        }

        var loaded = LibBpfNative.ObjectLoad(bpfObject);
        if (loaded < 0)
        {
            LibBpfNative.ObjectClose(bpfObject);
            throw Unavailable("the kernel refused the ledger's BPF program", -loaded);
        }

        try
        {
            return new CudaLedgerProbe(bpfObject, time);
        }
        catch
        {
            LibBpfNative.ObjectClose(bpfObject);
            throw;
        }
    }

    /// <summary>
    /// Attaches every probe to the libcuda file at <paramref name="path"/> (a path this process can
    /// open: /proc/PID/map_files/... or /proc/PID/root/...). Symbols the file lacks (older drivers
    /// have no cuLibrary*) are listed, not fatal; a file with no probed symbol at all fails.
    /// </summary>
    public LibcudaAttachment Attach(string path)
    {
        var links = new List<nint>();
        var attached = new List<CudaEntryPoint>();
        var missing = new List<CudaEntryPoint>();
        int? firstError = null;
        foreach (var info in CudaEntryPoints.All)
        {
            var (enter, needsReturn) = info.Kind switch
            {
                CudaCallKind.Launch => (info.HandleArgument == 2 ? "launch_arg2" : "launch_arg1", false),
                CudaCallKind.Load => ("load_enter", true),
                _ => ("lookup_enter", true),
            };
            var entryLink = AttachOne(enter, path, info, retprobe: false, out var errno);
            var returnLink = entryLink != 0 && needsReturn ? AttachOne("call_return", path, info, retprobe: true, out errno) : 0;
            if (entryLink != 0 && (!needsReturn || returnLink != 0))
            {
                links.Add(entryLink);
                if (returnLink != 0)
                {
                    links.Add(returnLink);
                }

                attached.Add(info.Entry);
                continue;
            }

            if (entryLink != 0)
            {
                _ = LibBpfNative.LinkDestroy(entryLink); // fails only for a link already gone
            }

            // libbpf answers ENOENT for a symbol the file lacks; anything else is a real failure.
            if ((Errno)errno == Errno.ENOENT)
            {
                missing.Add(info.Entry);
            }
            else
            {
                firstError ??= errno;
                missing.Add(info.Entry);
            }
        }

        if (attached.Count == 0)
        {
            throw firstError is { } error
                ? Unavailable("cannot attach uprobes to " + path, error)
                : new KernelLedgerUnavailableException(path + " exports none of the CUDA driver entry points the ledger probes", "is it really libcuda?");
        }

        return new LibcudaAttachment(path, attached, missing, links);
    }

    /// <summary>Removes the probes of one attachment.</summary>
    public static void Detach(LibcudaAttachment attachment)
    {
        foreach (var link in attachment.Links)
        {
            _ = LibBpfNative.LinkDestroy(link); // fails only for a link already gone
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for ring buffer events and returns those received (names, aliases, loads).</summary>
    public IReadOnlyList<LedgerEvent> Poll(TimeSpan timeout)
    {
        _received.Clear();
        // Negative only when interrupted (EINTR) or when a callback failed, which ours never does.
        _ = LibBpfNative.RingBufferPoll(_ringBuffer, (int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue));
        return _received.ToList();
    }

    /// <summary>Every launch counter in the kernel map, with times on the wall clock.</summary>
    public IReadOnlyList<LaunchCounter> ReadCounters()
    {
        var clock = MonotonicClock.Now(_time);
        var counters = new List<LaunchCounter>();
        foreach (var key in Keys<LaunchKey>(_launchesFd))
        {
            var copy = key;
            LaunchValue value;
            if (LibBpfNative.MapLookup(_launchesFd, &copy, &value) == 0)
            {
                counters.Add(new LaunchCounter((int)key.Tgid, (CudaEntryPoint)key.Entry, key.Handle, (long)Math.Min(value.Count, long.MaxValue), clock.ToWall(value.FirstNs), clock.ToWall(value.LastNs)));
            }
        }

        return counters;
    }

    /// <summary>Per process: lookups and loads dropped because it used up its event budget.</summary>
    public IReadOnlyDictionary<int, long> ReadEventsDropped()
    {
        var dropped = new Dictionary<int, long>();
        foreach (var pid in Keys<uint>(_budgetsFd))
        {
            var key = pid;
            PidBudget budget;
            if (LibBpfNative.MapLookup(_budgetsFd, &key, &budget) == 0 && budget.EventsDropped > 0)
            {
                dropped[(int)pid] = (long)budget.EventsDropped;
            }
        }

        return dropped;
    }

    /// <summary>What the BPF program lost, summed over CPUs (indexes: enum ledger_stat).</summary>
    public LedgerLosses ReadLosses()
    {
        var totals = new long[4];
        var perCpu = stackalloc ulong[_cpus];
        for (uint stat = 0; stat < totals.Length; stat++)
        {
            var key = stat;
            if (LibBpfNative.MapLookup(_statsFd, &key, perCpu) == 0)
            {
                for (var cpu = 0; cpu < _cpus; cpu++)
                {
                    totals[stat] += (long)perCpu[cpu];
                }
            }
        }

        return new LedgerLosses(totals[0], totals[1], totals[2], totals[3]);
    }

    /// <summary>Deletes the counters and budgets of processes that exited.</summary>
    public void Forget(IReadOnlySet<int> pids)
    {
        if (pids.Count == 0)
        {
            return;
        }

        foreach (var key in Keys<LaunchKey>(_launchesFd).Where(k => pids.Contains((int)k.Tgid)).ToList())
        {
            var copy = key;
            _ = LibBpfNative.MapDelete(_launchesFd, &copy); // ENOENT: already gone
        }

        foreach (var pid in pids)
        {
            var key = (uint)pid;
            _ = LibBpfNative.MapDelete(_budgetsFd, &key); // ENOENT: it never used its budget
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        LibBpfNative.RingBufferFree(_ringBuffer);
        _self.Free();
        // Closing the object destroys the programs; links still open keep them until destroyed.
        LibBpfNative.ObjectClose(_object);
    }

    internal static byte[] ReadEmbeddedObject()
    {
        using var stream = typeof(CudaLedgerProbe).Assembly.GetManifestResourceStream(ObjectResource)
            ?? throw new InvalidOperationException("the BPF object is not embedded (build problem)");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static KernelLedgerUnavailableException Unavailable(string what, int errno) => (Errno)errno switch
    {
        Errno.EPERM or Errno.EACCES => new KernelLedgerUnavailableException(what + ": permission denied", PermissionFix),
        Errno.EINVAL or Errno.ESRCH or Errno.ENOENT => new KernelLedgerUnavailableException($"{what}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", "needs Linux 5.15 or newer with uprobes, BTF and BPF ring buffers"),
        _ => new KernelLedgerUnavailableException($"{what}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", "see docs/kernel-ledger.md"),
    };

    private nint Find(string name, delegate*<nint, byte*, nint> find)
    {
        var utf8 = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* p = utf8)
        {
            var found = find(_object, p);
            return found != 0 ? found : throw new InvalidOperationException($"the BPF object has no '{name}' (build problem)");
        }
    }

    private nint AttachOne(string program, string path, CudaEntryPointInfo info, bool retprobe, out int errno)
    {
        var pathBytes = Encoding.UTF8.GetBytes(path + "\0");
        var symbol = Encoding.ASCII.GetBytes(info.Symbol + "\0");
        fixed (byte* p = pathBytes, s = symbol)
        {
            var options = new BpfUprobeOptions
            {
                Size = (nuint)sizeof(BpfUprobeOptions),
                Cookie = (ulong)info.Entry,
                Retprobe = retprobe ? (byte)1 : (byte)0,
                FunctionName = s,
            };
            // pid -1: every process that maps the file.
            var link = LibBpfNative.AttachUprobe(_programs[program], -1, p, 0, &options);
            errno = link == 0 ? Marshal.GetLastPInvokeError() : 0;
            return link;
        }
    }

    private static List<T> Keys<T>(int fd)
        where T : unmanaged
    {
        var keys = new List<T>();
        T current = default;
        T next;
        var first = true;
        // Bounded by the map's max_entries; a key deleted under us restarts nothing worse than a re-read.
        while (keys.Count < 1 << 20 && LibBpfNative.MapGetNextKey(fd, first ? null : &current, &next) == 0)
        {
            keys.Add(next);
            current = next;
            first = false;
        }

        return keys;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnEvent(nint context, nint data, nuint size)
    {
        try
        {
            if (GCHandle.FromIntPtr(context).Target is CudaLedgerProbe probe && (int)size >= sizeof(LedgerEventHeader))
            {
                probe._received.Add(Decode(new ReadOnlySpan<byte>((void*)data, (int)Math.Min(size, int.MaxValue)), MonotonicClock.Now(probe._time)));
            }
        }
        catch (Exception e) when (e is ArgumentException or DecoderFallbackException)
        {
            // A malformed record is dropped; the next one is read.
        }

        return 0;
    }

    /// <summary>Decodes one ring buffer record (struct ledger_event).</summary>
    internal static LedgerEvent Decode(ReadOnlySpan<byte> record, MonotonicClock clock)
    {
        var header = MemoryMarshal.Read<LedgerEventHeader>(record);
        var nameBytes = record[sizeof(LedgerEventHeader)..];
        string? name = null;
        if (header.NameLength > 1)
        {
            var length = (int)Math.Min(header.NameLength - 1, (uint)Math.Min(nameBytes.Length, LedgerEventHeader.NameMax - 1));
            name = Printable(nameBytes[..length]);
        }

        return new LedgerEvent((CudaEntryPoint)header.Entry, (int)header.Tgid, header.Handle, header.Owner, header.Image, clock.ToWall(header.TimeNs), name);
    }

    /// <summary>Names are the watched process's bytes: anything but printable ASCII becomes '?'.</summary>
    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var end = bytes.IndexOf((byte)0);
        if (end >= 0)
        {
            bytes = bytes[..end];
        }

        return string.Create(bytes.Length, bytes.ToArray(), static (chars, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                chars[i] = source[i] is >= 0x21 and <= 0x7e ? (char)source[i] : '?';
            }
        });
    }

    /// <summary>The errno values (the same on every Linux architecture) that decide how a failed libbpf call is reported.</summary>
    private enum Errno
    {
        /// <summary>No error: the call succeeded.</summary>
        None = 0,
        EPERM = 1,
        ENOENT = 2,
        ESRCH = 3,
        EACCES = 13,
        EINVAL = 22,
    }
}

/// <summary>Converts bpf_ktime_get_ns (CLOCK_MONOTONIC) to wall-clock time, from one reading of both clocks.</summary>
internal readonly record struct MonotonicClock(long NowNs, DateTimeOffset NowWall)
{
    // On Linux the Stopwatch reads CLOCK_MONOTONIC, the clock bpf_ktime_get_ns reads: it must be
    // that very clock (a TimeProvider's timestamps are not the kernel's), so Stopwatch is meant here.
#pragma warning disable RS0030 // the kernel's CLOCK_MONOTONIC, not a TimeProvider's timestamp
    public static MonotonicClock Now(TimeProvider wall) => new(
        (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency)),
        wall.GetUtcNow());
#pragma warning restore RS0030

    public DateTimeOffset ToWall(ulong ns) => NowWall - TimeSpan.FromTicks((NowNs - (long)ns) / 100);
}

/// <summary>One libcuda file with the ledger's probes on it.</summary>
public sealed record LibcudaAttachment(string Path, IReadOnlyList<CudaEntryPoint> Attached, IReadOnlyList<CudaEntryPoint> Missing, IReadOnlyList<nint> Links);

/// <summary>What the BPF program lost since it was loaded.</summary>
public readonly record struct LedgerLosses(long LaunchesLost, long EventsLost, long EventsOverBudget, long ReturnsUnmatched);
