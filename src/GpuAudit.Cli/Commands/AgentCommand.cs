using System.CommandLine;
using GpuAudit.Agent.Exporters;
using GpuAudit.Agent.Pipeline;
using GpuAudit.Cli.Hosting;
using GpuAudit.Core;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Pipeline;
using GpuAudit.Ebpf;
using GpuAudit.Linux;

namespace GpuAudit.Cli.Commands;

/// <summary>
/// `gpuaudit agent`: the node daemon. Polls every GPU through NVML at the interval, inspects each
/// GPU process through /proc (with the GPU code scan in the background), analyses each tick and
/// serves /metrics. On Kubernetes, GPUs and processes are named by pod (namespace/name) from the
/// kubelet's pod-resources API. A GPU or call that fails takes that GPU's collector down for the tick; the
/// loop goes on.
/// </summary>
internal static class AgentCommand
{
    public static Command Create()
    {
        var interval = new Option<double>("--interval") { Description = "Seconds between polls.", DefaultValueFactory = _ => 1.0 };
        var listen = new Option<string>("--listen") { Description = "Serve /metrics on HOST:PORT.", DefaultValueFactory = _ => MetricsEndpoint.DefaultListen };
        var library = new Option<string?>("--nvml-library") { Description = "Path of libnvidia-ml.so.1 (default: the driver's, or $GPUAUDIT_NVML_LIBRARY)." };
        var summary = new Option<bool>("--summary") { Description = "Print the live per-GPU and per-process summary." };
        var procRoot = new Option<string>("--proc-root") { Description = "procfs to read processes from (a container sees the host's through a mount).", DefaultValueFactory = _ => "/proc" };
        var allowNet = new Option<string[]>("--allow-net") { Description = "Networks (CIDR) GPU jobs may connect to; connections elsewhere are flagged. Repeatable.", AllowMultipleArgumentsPerToken = true };
        var noScan = new Option<bool>("--no-memory-scan") { Description = "Do not scan GPU processes' memory for GPU code." };
        var noLedger = new Option<bool>("--no-kernel-ledger") { Description = "Do not count CUDA kernel launches with eBPF uprobes on libcuda (docs/kernel-ledger.md)." };
        var contextEnv = new Option<string[]>("--context-env") { Description = "Environment variables of GPU processes recorded with their violations (e.g. RL_RUN_ID,RL_EPISODE_ID), redacted; comma-separated or repeated.", AllowMultipleArgumentsPerToken = true };
        var jobMap = SessionOptions.JobMapOption(GpuJobMapReader.DefaultDirectory);
        var policy = SessionOptions.PolicyOption();
        var journal = SessionOptions.JournalOption("/var/lib/gpuaudit");
        var retention = SessionOptions.RetentionOption();
        var analysisInterval = SessionOptions.AnalysisIntervalOption(SessionOptions.AgentAnalysisIntervalSeconds);
        var command = new Command("agent", "Watch this node's GPUs: poll NVML, inspect GPU processes, classify, export /metrics.") { interval, listen, library, summary, procRoot, allowNet, noScan, noLedger, contextEnv, jobMap, policy, journal, retention, analysisInterval };
        var metricsOptions = SessionOptions.MetricsOptions();
        var kubernetes = KubernetesOptions.Create();
        foreach (var option in metricsOptions.All.Concat(kubernetes.All))
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, ct) => CliRunner.RunAsync(async () =>
        {
            var seconds = parse.GetValue(interval);
            if (seconds is < 0.1 or > 3600)
            {
                throw new UserInputException("--interval must be between 0.1 and 3600 seconds");
            }

            // Checked before NVML opens, like --interval: a bad value is the one line the user sees.
            var batch = SessionOptions.AnalysisIntervalOf(parse.GetValue(analysisInterval));

            InspectorOptions inspectorOptions;
            try
            {
                inspectorOptions = new InspectorOptions
                {
                    EgressAllowlist = InspectorOptions.ParseAllowlist(parse.GetValue(allowNet) ?? []),
                    ContextEnv = RunContext.ParseNames(parse.GetValue(contextEnv) ?? []),
                };
            }
            catch (FormatException e)
            {
                throw new UserInputException("--allow-net: " + e.Message, e);
            }

            // Kubernetes flags are checked now; what the pod sources say waits until NVML has
            // opened, so a node without a driver gets that one line and nothing before it.
            var nvmlOpened = false;
            List<string> podNotes = [];
            using var pods = kubernetes.Build(parse, note =>
            {
                if (Volatile.Read(ref nvmlOpened))
                {
                    AuditSession.Warn(note);
                }
                else
                {
                    podNotes.Add(note);
                }
            });

            var root = parse.GetValue(procRoot)!;
            var period = TimeSpan.FromSeconds(seconds);
            var scans = parse.GetValue(noScan) ? null : new GpuCodeScanService(new GpuCodeScanner(root), TimeProvider.System);
            var inspector = new ProcessInspector(root, inspectorOptions);
            var source = LiveNvml.Open(period, parse.GetValue(library), inspector);
            foreach (var problem in source.StartupProblems)
            {
                AuditSession.Warn(problem);
            }

            Volatile.Write(ref nvmlOpened, true);
            podNotes.ForEach(AuditSession.Warn);
            var (ledger, ledgerOff) = parse.GetValue(noLedger) ? (null, "off (--no-kernel-ledger)") : StartKernelLedger(root);
            using var ownedLedger = ledger;

            // /proc inspection (tree, sockets) runs beside the scans, off the poll thread; the source
            // describes new processes itself with the bounded identity read only.
            var inspections = new BackgroundInspector(inspector, TimeProvider.System);
            var insights = new LiveInsightProvider(inspections, scans, TimeProvider.System, TimeSpan.FromSeconds(30), ledger);
            if (pods is not null)
            {
                // The GPU→pod map, read once before the first poll, then off the poll thread.
                await pods.RefreshAsync(ct);
            }

            if (source.Devices.Count == 0)
            {
                AuditSession.Warn("NVML found no GPU; serving self-health metrics only (run gpuaudit doctor)");
            }

            using var stopScans = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var scanLoop = scans is null ? Task.CompletedTask : Task.Run(() => scans.RunAsync(stopScans.Token), CancellationToken.None);
            var podLoop = pods is null ? Task.CompletedTask : Task.Run(() => pods.RunAsync(stopScans.Token), CancellationToken.None);
            var fileJobs = SessionOptions.JobMap(parse.GetValue(jobMap));
            var inspectionLoop = Task.Run(() => inspections.RunAsync(stopScans.Token), CancellationToken.None);
            using var session = new AuditSession(
                source,
                new SessionOptions
                {
                    Listen = parse.GetValue(listen),
                    PollInterval = period,
                    ShowSummary = parse.GetValue(summary),
                    PolicyPath = parse.GetValue(policy),
                    JournalDirectory = parse.GetValue(journal),
                    JournalRetention = SessionOptions.Retention(parse.GetValue(retention)),
                    AnalysisInterval = batch,
                    KernelLedger = ledger,
                    KernelLedgerOff = ledgerOff,
                    Exporter = metricsOptions.Exporter(parse),
                    WebConfigPath = parse.GetValue(metricsOptions.WebConfig),
                },
                insights,
                pods is null ? fileJobs : new CombinedJobMap([fileJobs, pods]),
                TimeProvider.System);
            try
            {
                await session.RunAsync(ct);
            }
            finally
            {
                await stopScans.CancelAsync();
                await scanLoop.ContinueWith(_ => { }, TaskScheduler.Default);
                await podLoop.ContinueWith(_ => { }, TaskScheduler.Default);
                await inspectionLoop.ContinueWith(_ => { }, TaskScheduler.Default);
            }

            return 0;
        }));
        return command;
    }

    /// <summary>
    /// The kernel ledger is optional: without libbpf, the privilege or a kernel that supports it,
    /// the agent runs without it, says so once, and exports gpuaudit_kernel_ledger_up 0.
    /// </summary>
    private static (KernelLedgerService? Ledger, string? Off) StartKernelLedger(string procRoot)
    {
        try
        {
            var ledger = KernelLedgerService.Start(procRoot, TimeProvider.System, message => Console.Error.WriteLine("gpuaudit: " + message));
            ledger.WatchEveryProcessOnce();
            return (ledger, null);
        }
        catch (KernelLedgerUnavailableException e)
        {
            AuditSession.Warn("kernel ledger off: " + e.MessageWithFix);
            return (null, e.Message);
        }
    }
}
