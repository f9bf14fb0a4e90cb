using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;

namespace GpuAudit.Linux;

/// <summary>
/// Runs <see cref="ProcessInspector"/> off the poll thread (issue 12 item 1): the poller asks with
/// <see cref="Request"/> (cheap, de-duplicated; new and reused pids go first) and reads
/// <see cref="Latest"/>; inspections run in <see cref="RunAsync"/>. How long an inspection takes
/// is up to the process (its tree, descriptors, maps): never the poll's interval. An inspection
/// that does not finish within <see cref="StallTimeout"/> (a read the kernel holds) is left to
/// finish on its own, that pid is not inspected again, and another worker carries on with the
/// rest. A held worker is a blocked thread and little else, so up to <see cref="MaxHeldWorkers"/>
/// are left behind before inspections stop: a workload would need that many processes whose
/// /proc reads the kernel holds to blind inspection (never polling).
/// </summary>
public sealed class BackgroundInspector(Func<int, ProcessInsight?> inspect, TimeProvider? time = null)
{
    private readonly TimeProvider time = time ?? TimeProvider.System;
    private readonly Channel<int> urgent = Channel.CreateUnbounded<int>();
    private readonly Channel<int> routine = Channel.CreateUnbounded<int>();
    private readonly ConcurrentDictionary<int, byte> queued = new();
    private readonly ConcurrentDictionary<int, ProcessInsight> latest = new();
    private readonly ConcurrentDictionary<int, byte> stalled = new();
    private readonly List<Worker> workers = [];
    private long completed;

    public BackgroundInspector(ProcessInspector inspector, TimeProvider? time = null)
        : this(inspector.Inspect, time)
    {
    }

    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Workers left blocked in a held read before no new one is started.</summary>
    public int MaxHeldWorkers { get; init; } = 32;

    /// <summary>Inspections done so far (for tests and self-metrics).</summary>
    public long Completed => Interlocked.Read(ref completed);

    /// <summary>Asks for an inspection of <paramref name="pid"/>; <paramref name="urgent"/> for a process not inspected yet (new or reused pid).</summary>
    public void Request(int pid, bool urgent)
    {
        if (!stalled.ContainsKey(pid) && queued.TryAdd(pid, 0))
        {
            (urgent ? this.urgent : routine).Writer.TryWrite(pid);
        }
    }

    /// <summary>The latest finished inspection of <paramref name="pid"/> (of whichever process had that pid then).</summary>
    public ProcessInsight? Latest(int pid) => latest.GetValueOrDefault(pid);

    /// <summary>Forgets a pid (exited, or reused: its inspection described another process).</summary>
    public void Forget(int pid)
    {
        latest.TryRemove(pid, out _);
        stalled.TryRemove(pid, out _);
    }

    /// <summary>Runs the workers until <paramref name="cancellationToken"/> fires; starts another when all are stuck.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                lock (workers)
                {
                    var now = time.GetTimestamp();
                    workers.RemoveAll(w => w.Task.IsCompleted);
                    var held = 0;
                    foreach (var worker in workers)
                    {
                        held += worker.IsStuck(now, time, StallTimeout, out _) ? 1 : 0;
                    }

                    if (held == workers.Count && held < MaxHeldWorkers)
                    {
                        var worker = new Worker();
                        worker.Task = Task.Run(() => WorkAsync(worker, cancellationToken), CancellationToken.None);
                        workers.Add(worker);
                    }

                    foreach (var worker in workers)
                    {
                        if (worker.IsStuck(now, time, StallTimeout, out var pid) && stalled.TryAdd(pid, 0))
                        {
                            latest[pid] = new ProcessInsight
                            {
                                Identity = new ProcessRecord { Pid = pid },
                                Unreadable = ["inspection of pid " + pid.ToString(CultureInfo.InvariantCulture) + " did not finish within " + StallTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s (a /proc read held by the kernel); not inspected again"],
                            };
                        }
                    }
                }

                await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown. A stuck worker is abandoned: it holds nothing the agent needs to exit.
        }
    }

    private async Task WorkAsync(Worker worker, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (!urgent.Reader.TryRead(out var pid) && !routine.Reader.TryRead(out pid))
                {
                    await Task.WhenAny(urgent.Reader.WaitToReadAsync(cancellationToken).AsTask(), routine.Reader.WaitToReadAsync(cancellationToken).AsTask());
                    continue;
                }

                queued.TryRemove(pid, out _);
                worker.Begin(pid, time.GetTimestamp());
                var inspection = InspectSafely(pid);
                worker.End();
                if (stalled.ContainsKey(pid))
                {
                    continue;
                }

                if (inspection is null)
                {
                    latest.TryRemove(pid, out _);
                }
                else
                {
                    latest[pid] = inspection;
                }

                Interlocked.Increment(ref completed);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown.
        }
    }

    // Whatever a process's /proc makes a parser do, the worker goes on to the next process.
    private ProcessInsight? InspectSafely(int pid)
    {
        try
        {
            return inspect(pid);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new ProcessInsight
            {
                Identity = new ProcessRecord { Pid = pid },
                Unreadable = ["inspection of pid " + pid.ToString(CultureInfo.InvariantCulture) + " failed: " + e.GetType().Name + ": " + e.Message],
            };
        }
    }

    private sealed class Worker
    {
        private long busySince;
        private int pid;

        public Task Task { get; set; } = Task.CompletedTask;

        public void Begin(int pid, long now)
        {
            Volatile.Write(ref this.pid, pid);
            Volatile.Write(ref busySince, now);
        }

        public void End() => Volatile.Write(ref busySince, 0);

        public bool IsStuck(long now, TimeProvider time, TimeSpan timeout, out int pid)
        {
            pid = Volatile.Read(ref this.pid);
            var since = Volatile.Read(ref busySince);
            return since != 0 && time.GetElapsedTime(since, now) >= timeout;
        }
    }
}
