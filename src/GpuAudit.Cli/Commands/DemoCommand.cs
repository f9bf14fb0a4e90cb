using GpuAudit.Agent.Journal;
using System.CommandLine;
using GpuAudit.Agent.Exporters;
using GpuAudit.Agent.Reporting;
using GpuAudit.Cli.Hosting;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Replay;
using GpuAudit.Core.Reporting;

namespace GpuAudit.Cli.Commands;

/// <summary>
/// `gpuaudit demo`: the whole product on the bundled real H100 traces — a four-GPU node where one
/// GPU trains and hashes at once, one trains, one serves inference, one hashes — with /metrics
/// served and a live summary on the terminal.
/// </summary>
internal static class DemoCommand
{
    /// <summary>The demo's job on GPU 0, whose report the demo writes at the end.</summary>
    private const string DemoJob = "4242";

    public static Command Create()
    {
        var duration = new Option<double>("--duration") { Description = "Seconds to run; 0 runs until Ctrl-C. With --fast: seconds of trace time (default: to the end of the recordings).", DefaultValueFactory = _ => 60 };
        var listen = new Option<string>("--listen") { Description = "Serve /metrics on HOST:PORT.", DefaultValueFactory = _ => "127.0.0.1:" + MetricsEndpoint.DefaultPort };
        var fast = new Option<bool>("--fast") { Description = "Replay as fast as possible, once, and stop at the end of the recordings (for scripts)." };
        var dir = new Option<string?>("--dir") { Description = "Working directory for the demo's traces and outputs (default: a new temporary directory)." };
        var command = new Command("demo", "Run the auditor on bundled real H100 traces (no GPU needed): serves /metrics and shows a live summary.") { duration, listen, fast, dir };
        command.SetAction((parse, ct) => CliRunner.RunAsync(async () =>
        {
            var seconds = parse.GetValue(duration);
            if (seconds < 0)
            {
                throw new Core.UserInputException("--duration must be 0 (until Ctrl-C) or a positive number of seconds");
            }

            var workDir = parse.GetValue(dir) ?? Path.Combine(Path.GetTempPath(), "gpuaudit-demo-" + Environment.ProcessId);
            var traces = DemoTraces.Extract(Path.Combine(workDir, "traces"));
            var jobMap = DemoTraces.WriteJobMap(Path.Combine(workDir, "jobmap"));
            // At recorded speed the demo loops until --duration of wall time. Fast, it plays the
            // recordings once (or --duration of trace time, when given): looping as fast as the CPU
            // goes for a wall-clock duration only fills the disk and the terminal.
            var isFast = parse.GetValue(fast);
            var traceSeconds = isFast && parse.GetResult(duration) is { Implicit: false } && seconds > 0 ? seconds : (double?)null;
            var replay = new ReplayOptions
            {
                Loop = !isFast,
                Fast = isFast,
                UntilSeconds = traceSeconds,
                // The journal and /metrics stamp the wall clock, as on a live node (replay keeps trace time).
                StartAt = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0,
                Warn = AuditSession.Warn,
            };
            var source = new TraceReplaySource(traces, replay, TimeProvider.System);
            using var session = new AuditSession(
                source,
                new SessionOptions { Listen = parse.GetValue(listen), ShowSummary = true, JournalDirectory = Path.Combine(workDir, "journal") },
                new RecordedInsightProvider(),
                SessionOptions.JobMap(jobMap),
                TimeProvider.System);
            await Console.Out.WriteLineAsync($"gpuaudit demo: replaying {traces.Count} real H100 traces as the GPUs of one node ({string.Join(", ", DemoTraces.Names)}); Ctrl-C to stop.");
            using var expiry = new CancellationTokenSource(seconds > 0 && !isFast ? TimeSpan.FromSeconds(seconds) : Timeout.InfiniteTimeSpan, TimeProvider.System);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, expiry.Token);

            await session.RunAsync(stop.Token);
            var dump = Path.Combine(workDir, "metrics.prom");
            await session.WriteMetricsAsync(dump, CancellationToken.None);
            session.FlushSummaries();
            var report = Path.Combine(workDir, $"report-{DemoJob}.html");
            using (var journal = JournalReader.Open(session.JournalDirectory))
            {
                var jobReport = new JournalReportSource(journal).Build(DemoJob, null, null);
                await File.WriteAllTextAsync(report, ReportText.Render(jobReport, ReportFormat.Html), CancellationToken.None);
            }

            await Console.Out.WriteLineAsync($"gpuaudit demo: done after {session.Runner.Ticks} ticks.");
            await Console.Out.WriteLineAsync($"  audit report of job {DemoJob} (training and a hash process sharing GPU 0): {report}");
            await Console.Out.WriteLineAsync($"  journal: {session.JournalDirectory} (gpuaudit report --job {DemoJob} --journal {session.JournalDirectory} --format md)");
            await Console.Out.WriteLineAsync($"  final metrics: {dump}");
            return 0;
        }));
        return command;
    }
}
