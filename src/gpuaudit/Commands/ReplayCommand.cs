using System.CommandLine;
using GpuAudit.Agent.Pipeline;
using GpuAudit.Agent.Replay;
using GpuAudit.Cli.Hosting;

namespace GpuAudit.Cli.Commands;

/// <summary>`gpuaudit replay TRACE...`: the agent's pipeline over recorded traces.</summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var traces = new Argument<string[]>("TRACE") { Description = "Trace files (format v1, JSON Lines). Several files play side by side as the GPUs of one node.", Arity = ArgumentArity.OneOrMore };
        var fast = new Option<bool>("--fast") { Description = "Replay as fast as possible instead of at recorded speed." };
        var until = new Option<double?>("--until") { Description = "Stop after this many seconds of trace time." };
        var loop = new Option<bool>("--loop") { Description = "Start over at the end (times and energy keep counting up); runs until stopped." };
        var dump = new Option<string?>("--metrics-dump") { Description = "Write the Prometheus exposition as it stands at the end to this file." };
        var listen = new Option<string?>("--listen") { Description = "Serve /metrics on HOST:PORT while replaying (e.g. 127.0.0.1:9477)." };
        var skip = new Option<bool>("--skip-malformed") { Description = "Skip malformed trace lines with a warning instead of failing." };
        var summary = new Option<bool>("--summary") { Description = "Print the live per-GPU and per-process summary." };
        var command = new Command("replay", "Run the full audit pipeline on recorded traces.") { traces, fast, until, loop, dump, listen, skip, summary };
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

            var source = new TraceReplaySource(parse.GetValue(traces)!, options, TimeProvider.System);
            using var session = new AuditSession(
                source,
                new SessionOptions { Listen = parse.GetValue(listen), MetricsDump = parse.GetValue(dump), ShowSummary = parse.GetValue(summary) },
                new RecordedInsightProvider(),
                NoJobMap.Instance,
                TimeProvider.System);
            await session.RunAsync(ct);
            await Console.Error.WriteLineAsync($"gpuaudit: replayed {session.Runner.Ticks} ticks");
            return 0;
        }));
        return command;
    }
}
