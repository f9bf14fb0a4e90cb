using System.CommandLine;
using GpuAudit.Agent.Simulation;
using GpuAudit.Cli.Hosting;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Replay;
using GpuAudit.Core.Samples;
using GpuAudit.Core.Trace;

namespace GpuAudit.Cli.Commands;

/// <summary>`gpuaudit replay TRACE...`: the agent's pipeline over recorded traces.</summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var traces = new Argument<string[]>("TRACE") { Description = "Trace files (format v1, JSON Lines). Several files play side by side as the GPUs of one node.", Arity = ArgumentArity.ZeroOrMore };
        var fast = new Option<bool>("--fast") { Description = "Replay as fast as possible instead of at recorded speed." };
        var until = new Option<double?>("--until") { Description = "Stop after this many seconds of trace time." };
        var loop = new Option<bool>("--loop") { Description = "Start over at the end (times and energy keep counting up); runs until stopped." };
        var dump = new Option<string?>("--metrics-dump") { Description = "Write the Prometheus exposition as it stands at the end to this file." };
        var listen = new Option<string?>("--listen") { Description = "Serve /metrics on HOST:PORT while replaying (e.g. 127.0.0.1:9477)." };
        var skip = new Option<bool>("--skip-malformed") { Description = "Skip malformed trace lines with a warning instead of failing." };
        var summary = new Option<bool>("--summary") { Description = "Print the live per-GPU and per-process summary." };
        var simGpus = new Option<int?>("--simulate-gpus") { Description = "Simulate a node of N GPUs by resampling the traces (default: the bundled demo traces) with a fixed seed." };
        var simProcs = new Option<int>("--simulate-procs") { Description = "Processes per simulated GPU.", DefaultValueFactory = _ => 4 };
        var seed = new Option<int>("--seed") { Description = "Seed of the simulated fleet.", DefaultValueFactory = _ => 1 };
        var jobMap = SessionOptions.JobMapOption(null);
        var policy = SessionOptions.PolicyOption();
        var journal = SessionOptions.JournalOption(null);
        var retention = SessionOptions.RetentionOption();
        var analysisInterval = SessionOptions.AnalysisIntervalOption(0);
        var command = new Command("replay", "Run the full audit pipeline on recorded traces (or a simulated fleet made from them).") { traces, fast, until, loop, dump, listen, skip, summary, simGpus, simProcs, seed, jobMap, policy, journal, retention, analysisInterval };
        var metricsOptions = SessionOptions.MetricsOptions();
        foreach (var option in metricsOptions.All)
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, ct) => CliRunner.RunAsync(async () =>
        {
            var options = new ReplayOptions
            {
                Fast = parse.GetValue(fast),
                UntilSeconds = parse.GetValue(until),
                Loop = parse.GetValue(loop),
                SkipMalformed = parse.GetValue(skip),
                Warn = AuditSession.Warn,
            };
            if (options.UntilSeconds is < 0)
            {
                throw new Core.UserInputException("--until must be zero or more seconds of trace time");
            }

            var batch = SessionOptions.AnalysisIntervalOf(parse.GetValue(analysisInterval));
            var files = parse.GetValue(traces) ?? [];
            ISampleSource source = parse.GetValue(simGpus) is { } gpus
                ? SimulatedFleet(files, new FleetShape(gpus, parse.GetValue(simProcs), parse.GetValue(seed)) { Fast = options.Fast, MaxTicks = options.UntilSeconds is { } u ? (long)Math.Floor(u) + 1 : null }, options)
                : new TraceReplaySource(files, options, TimeProvider.System);
            using var session = new AuditSession(
                source,
                new SessionOptions
                {
                    Listen = parse.GetValue(listen),
                    MetricsDump = parse.GetValue(dump),
                    ShowSummary = parse.GetValue(summary),
                    PolicyPath = parse.GetValue(policy),
                    JournalDirectory = parse.GetValue(journal),
                    JournalRetention = SessionOptions.Retention(parse.GetValue(retention)),
                    AnalysisInterval = batch,
                    Exporter = metricsOptions.Exporter(parse),
                    WebConfigPath = parse.GetValue(metricsOptions.WebConfig),
                },
                new RecordedInsightProvider(),
                SessionOptions.JobMap(parse.GetValue(jobMap)),
                TimeProvider.System);
            await session.RunAsync(ct);
            await Console.Error.WriteLineAsync($"gpuaudit: replayed {session.Runner.Ticks} ticks; {session.ActiveViolations.Count(v => !v.IsAllowed)} violation(s) open at the end" + (parse.GetValue(journal) is { } j ? $"; journal in {j}" : string.Empty));
            return 0;
        }));
        return command;
    }

    private static SimulatedFleetSource SimulatedFleet(IReadOnlyList<string> files, FleetShape shape, ReplayOptions options)
    {
        if (files.Count == 0)
        {
            files = DemoTraces.Extract(Path.Combine(Path.GetTempPath(), "gpuaudit-sim-" + Environment.ProcessId));
        }

        var read = new TraceReadOptions { SkipMalformed = options.SkipMalformed, Warn = options.Warn };
        return new SimulatedFleetSource([.. files.Select(f => RecordedTrace.Load(f, read))], shape, TimeProvider.System);
    }
}
