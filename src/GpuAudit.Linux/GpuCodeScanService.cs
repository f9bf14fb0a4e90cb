using System.Collections.Concurrent;
using System.Threading.Channels;

namespace GpuAudit.Linux;

/// <summary>
/// Runs the GPU code scan off the poll thread: the poller calls <see cref="Request"/> for each GPU
/// process it sees (cheap, de-duplicated) and reads <see cref="Latest"/>; one background loop
/// (<see cref="RunAsync"/>) scans within the scanner's budgets and waits when the per-minute
/// budget is spent.
/// </summary>
public sealed class GpuCodeScanService(GpuCodeScanner scanner, TimeProvider? time = null)
{
    private readonly TimeProvider time = time ?? TimeProvider.System;
    private readonly Channel<int> queue = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<int, byte> queued = new();
    private readonly ConcurrentDictionary<int, GpuCodeScanResult> latest = new();

    /// <summary>Asks for a (resumed) scan of <paramref name="pid"/>; ignored while one is already queued.</summary>
    public void Request(int pid)
    {
        if (queued.TryAdd(pid, 0))
        {
            queue.Writer.TryWrite(pid);
        }
    }

    /// <summary>The latest scan result of <paramref name="pid"/>, or null before its first scan.</summary>
    public GpuCodeScanResult? Latest(int pid) => latest.GetValueOrDefault(pid);

    /// <summary>Forgets an exited process.</summary>
    public void Forget(int pid)
    {
        latest.TryRemove(pid, out _);
        queued.TryRemove(pid, out _);
    }

    /// <summary>
    /// One scan. Whatever a process's memory or maps make a parser do, the loop goes on: a scan that
    /// throws is reported for that process (in its result's unreadable list) and the next one runs.
    /// </summary>
    private GpuCodeScanResult? ScanSafely(int pid, CancellationToken cancellationToken)
    {
        try
        {
            return scanner.Scan(pid, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            scanner.Forget(pid);
            return new GpuCodeScanResult { Pid = pid, Unreadable = ["memory scan of pid " + pid.ToString(System.Globalization.CultureInfo.InvariantCulture) + " failed: " + e.GetType().Name + ": " + e.Message] };
        }
    }

    /// <summary>The background loop; returns when <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var pid in queue.Reader.ReadAllAsync(cancellationToken))
            {
                var wait = scanner.BudgetWait();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, cancellationToken);
                }

                queued.TryRemove(pid, out _);
                var result = ScanSafely(pid, cancellationToken);
                if (result is null)
                {
                    scanner.Forget(pid);
                    latest.TryRemove(pid, out _);
                }
                else
                {
                    latest[pid] = result;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown.
        }
    }
}
