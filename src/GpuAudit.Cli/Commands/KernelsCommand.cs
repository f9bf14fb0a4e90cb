using System.CommandLine;
using System.Globalization;
using GpuAudit.Core;
using GpuAudit.Core.Kernels;
using GpuAudit.Ebpf;
using GpuAudit.Linux;

namespace GpuAudit.Cli.Commands;

/// <summary>
/// <c>gpuaudit kernels</c>: which CUDA kernels processes launch and how often, from the kernel
/// ledger's uprobes on libcuda, over a period (until --duration, Ctrl-C, or the --pid exits).
/// </summary>
internal static class KernelsCommand
{
    // Names for handles looked up before the probes attached: only the memory scan has them.
    private static readonly GpuCodeScanOptions NameScan = new() { PerScanBudget = TimeSpan.FromSeconds(10), PerMinuteBudget = TimeSpan.FromSeconds(30) };

    public static Command Create()
    {
        var pid = new Option<int?>("--pid") { Description = "Only this process (default: every process that maps libcuda)." };
        var duration = new Option<double?>("--duration") { Description = "Seconds to count (default: until Ctrl-C, or until --pid exits)." };
        var json = new Option<bool>("--json") { Description = "One JSON object per kernel per line (pid, kernel, launches, first_seen, last_seen...)." };
        var procRoot = new Option<string>("--proc-root") { Description = "procfs to read (default /proc).", DefaultValueFactory = _ => ProcFileSystem.DefaultRoot };
        var command = new Command("kernels", "Count the CUDA kernels processes launch, by name, from eBPF uprobes on libcuda (needs root or CAP_BPF+CAP_PERFMON).") { pid, duration, json, procRoot };
        command.SetAction((parse, ct) => CliRunner.RunAsync(() => RunAsync(
            parse.GetValue(pid), parse.GetValue(duration), parse.GetValue(json), parse.GetValue(procRoot)!, parse.InvocationConfiguration.Output, ct)));
        return command;
    }

    private static async Task<int> RunAsync(int? pid, double? seconds, bool asJson, string procRoot, TextWriter output, CancellationToken cancellationToken)
    {
        if (seconds is <= 0 or > 31_536_000)
        {
            throw new UserInputException("--duration must be a positive number of seconds");
        }

        var proc = new ProcFileSystem(procRoot);
        if (pid is { } only && !proc.Exists(only))
        {
            throw new UserInputException($"no process with pid {only.ToString(CultureInfo.InvariantCulture)} under {procRoot} (it may have exited, or runs in another pid namespace: give that namespace's procfs with --proc-root)");
        }

        KernelLedgerService ledger;
        try
        {
            ledger = KernelLedgerService.Start(procRoot, TimeProvider.System, message => Console.Error.WriteLine("gpuaudit: " + message), watchAllProcesses: pid is null);
        }
        catch (KernelLedgerUnavailableException e)
        {
            throw new UserInputException("the kernel ledger cannot run here: " + e.MessageWithFix, e);
        }

        using (ledger)
        {
            await Console.Error.WriteLineAsync("gpuaudit: counting kernel launches" + (pid is { } p ? $" of pid {p}" : " of every process that maps libcuda")
                + (seconds is { } s ? $" for {s.ToString(CultureInfo.InvariantCulture)} s" : " until Ctrl-C") + (pid is null ? string.Empty : " or until it exits"));
            var inMemory = new Dictionary<int, IReadOnlyList<string>>();
            var scanner = new GpuCodeScanner(procRoot, NameScan);
            await WaitAsync(ledger, proc, pid, seconds, () => ScanNames(scanner, ledger.Snapshot, inMemory, cancellationToken), TimeProvider.System, cancellationToken);
            await ledger.RefreshAsync();
            var snapshot = ledger.Snapshot;
            var processes = snapshot.Processes.Values.Where(k => pid is null || k.Pid == pid).ToList();
            if (pid is { } watched && !snapshot.CoveredSince.ContainsKey(watched))
            {
                await Console.Error.WriteLineAsync($"gpuaudit: pid {watched} mapped no libcuda the probes could attach to: nothing of it was counted");
            }

            ScanNames(scanner, snapshot, inMemory, cancellationToken);
            if (asJson)
            {
                KernelLedgerOutput.WriteJsonLines(output, processes, inMemory);
            }
            else
            {
                KernelLedgerOutput.WriteText(output, processes, inMemory, p => proc.ReadText(p, "comm")?.Trim());
            }
        }

        return 0;
    }

    private static async Task WaitAsync(KernelLedgerService ledger, ProcFileSystem proc, int? pid, double? seconds, Action scanNames, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var limit = seconds is { } s ? TimeSpan.FromSeconds(s) : TimeSpan.MaxValue;
        long? lastWatch = null;
        try
        {
            while (time.GetElapsedTime(started) < limit)
            {
                if (pid is { } p)
                {
                    if (!proc.Exists(p))
                    {
                        return;
                    }

                    // A process may load libcuda late (dlopen at its first CUDA call): keep looking.
                    if (lastWatch is not { } watched || time.GetElapsedTime(watched) >= TimeSpan.FromSeconds(1))
                    {
                        ledger.Watch(p);
                        lastWatch = time.GetTimestamp();
                    }
                }

                scanNames();
                var left = limit - time.GetElapsedTime(started);
                await Task.Delay(left < TimeSpan.FromMilliseconds(100) ? (left > TimeSpan.Zero ? left : TimeSpan.Zero) : TimeSpan.FromMilliseconds(100), time, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl-C: print what was counted.
        }
    }

    /// <summary>
    /// Scans, once each and while they still run, the processes with launches no lookup named:
    /// the kernel names in their memory are the only names there are for them.
    /// </summary>
    private static void ScanNames(GpuCodeScanner scanner, Core.Kernels.KernelLedgerSnapshot snapshot, Dictionary<int, IReadOnlyList<string>> names, CancellationToken cancellationToken)
    {
        foreach (var process in snapshot.Processes.Values)
        {
            if (process.UnnamedLaunches > 0 && !names.ContainsKey(process.Pid) && scanner.Scan(process.Pid, cancellationToken) is { } scan)
            {
                names[process.Pid] = scan.Kernels;
            }
        }
    }
}
